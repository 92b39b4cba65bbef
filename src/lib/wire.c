/* wire.c — encode and decode the messages between root and workers.
 * See wire.h for the format. Decoding never trusts a length: each one is
 * checked against what is left of the buffer before it is used. */

#include "wire.h"

#include "alloc.h"
#include "errors.h"
#include "rbuf.h"

#include <stdlib.h>
#include <string.h>

static uint32_t mf_bswap32(uint32_t v)
{
    return ((v & 0xffu) << 24) | ((v & 0xff00u) << 8) | ((v >> 8) & 0xff00u) |
           (v >> 24);
}

int mf__wire_open(mf_wire_reader *r, const void *buf, size_t len)
{
    uint32_t magic, count;
    uint8_t version, kind;
    const unsigned char *b = buf;

    memset(r, 0, sizeof *r);
    if (!buf || len < MF_WIRE_HDR)
        return mf__fail(MF_EPROTO,
                        "message of %zu bytes is shorter than "
                        "its header",
                        len);
    memcpy(&magic, b, 4);
    if (magic != MF_WIRE_MAGIC) {
        if (mf_bswap32(magic) == MF_WIRE_MAGIC)
            return mf__fail(MF_EPROTO, "message from a rank of the other "
                                       "byte order (not supported)");
        return mf__fail(MF_EPROTO, "bad magic 0x%08x", magic);
    }
    version = b[4];
    kind = b[5];
    if (version != MF_WIRE_VERSION)
        return mf__fail(MF_EPROTO, "wire version %u, expected %u", version,
                        MF_WIRE_VERSION);
    if (kind < MF_MSG_TASKS || kind > MF_MSG_RETURNED)
        return mf__fail(MF_EPROTO, "unknown message kind %u", kind);
    memcpy(&count, b + 8, 4);
    {
        uint16_t fl;
        memcpy(&fl, b + 6, 2);
        if (fl & ~MF_HDR_MORE)
            return mf__fail(MF_EPROTO, "unknown header flags %#x", fl);
        r->flags = fl;
    }
    {
        /* Every record takes at least its header: a count the message
         * cannot hold is refused here, before anyone sizes by it. */
        size_t rec = kind == MF_MSG_TASKS || kind == MF_MSG_RETURNED
                         ? MF_WIRE_TASK_REC
                         : MF_WIRE_RESULT_REC;
        uint32_t zero;
        memcpy(&zero, b + 12, 4);
        if (zero != 0)
            return mf__fail(MF_EPROTO, "reserved header word is %#x", zero);
        if (count > (len - MF_WIRE_HDR) / rec)
            return mf__fail(MF_EPROTO, "%u records cannot fit in %zu bytes",
                            count, len);
    }
    if (kind == MF_MSG_SHUTDOWN && count != 0)
        return mf__fail(MF_EPROTO, "shutdown message with %u records", count);
    if (kind == MF_MSG_RECALL && count != 0)
        return mf__fail(MF_EPROTO, "recall message with %u records", count);
    r->buf = b;
    r->len = len;
    r->off = MF_WIRE_HDR;
    r->kind = kind;
    r->count = count;
    return MF_OK;
}

/* (81 lines: one record's header, flags, lengths and padding are checked
 * in the order they lie in the message; split up, each check would need
 * the reader's whole state passed around.) */
int mf__wire_next(mf_wire_reader *r, mf_wire_rec *rec)
{
    uint64_t len;
    uint32_t flags, pad = 0;
    const unsigned char *p;

    if (!r->buf)
        return mf__fail(MF_EPROTO, "reader not open");
    if (r->seen == r->count) {
        if (r->off != r->len)
            return mf__fail(MF_EPROTO, "%zu stray bytes after %u records",
                            r->len - r->off, r->count);
        return MF_EDONE;
    }
    int task = r->kind == MF_MSG_TASKS || r->kind == MF_MSG_RETURNED;
    size_t hdr = task ? MF_WIRE_TASK_REC : MF_WIRE_RESULT_REC;
    if (r->len - r->off < hdr)
        return mf__fail(MF_EPROTO, "record %u of %u is truncated", r->seen,
                        r->count);
    p = r->buf + r->off;
    memset(rec, 0, sizeof *rec);
    memcpy(&rec->tag, p, 8);
    if (task) {
        memcpy(&rec->fn, p + 8, 8);
        memcpy(&len, p + 16, 8);
        memcpy(&flags, p + 24, 4);
        memcpy(&rec->timeout_ms, p + 28, 4);
    } else {
        memcpy(&rec->status, p + 8, 4);
        memcpy(&flags, p + 12, 4);
        memcpy(&len, p + 16, 8);
        memcpy(&rec->start, p + 24, 8);
        memcpy(&rec->ns, p + 32, 8);
        if (rec->status > MF_RS_TIMEOUT)
            return mf__fail(MF_EPROTO, "record %u: bad status %u", r->seen,
                            rec->status);
    }
    rec->chunk = (flags & MF_REC_CHUNK) != 0;
    rec->isolate = (flags & MF_REC_ISOLATE) != 0;
    if (!task && (flags & MF_REC_ISOLATE))
        pad = 1; /* a task-only flag on a result */
    if ((flags & ~(MF_REC_OOL | MF_REC_CHUNK | MF_REC_ISOLATE)) || pad)
        return mf__fail(MF_EPROTO, "record %u: unknown flags %#x", r->seen,
                        flags);
    r->off += hdr;
    if (flags & MF_REC_OOL) {
        /* Out of line: nothing inline; the length is checked against the
         * largest message we would ever send. */
        /* Senders put only payloads of MF_WIRE_OOL_MIN bytes and more
         * out of line: a smaller one would make us wait for a message
         * that a correct peer never sends. */
        if (len > MF_WIRE_MAX || len < MF_WIRE_OOL_MIN)
            return mf__fail(MF_EPROTO,
                            "record %u: out-of-line payload of "
                            "%llu bytes is out of range",
                            r->seen, (unsigned long long)len);
        rec->ool = 1;
        rec->data = NULL;
        rec->len = (size_t)len;
        r->seen++;
        return MF_OK;
    }
    if (len > r->len - r->off || MF_PAD8(len) > r->len - r->off)
        return mf__fail(MF_EPROTO,
                        "record %u: payload of %llu bytes "
                        "overruns the message",
                        r->seen, (unsigned long long)len);
    if (len >= MF_WIRE_OOL_MIN)
        return mf__fail(MF_EPROTO,
                        "record %u: %llu bytes inline, where a "
                        "sender puts them out of line",
                        r->seen, (unsigned long long)len);
    for (size_t k = (size_t)len; k < MF_PAD8(len); k++)
        if (r->buf[r->off + k] != 0)
            return mf__fail(MF_EPROTO, "record %u: padding is not zero",
                            r->seen);
    rec->data = r->buf + r->off;
    rec->len = (size_t)len;
    r->off += MF_PAD8(len);
    r->seen++;
    return MF_OK;
}

/* ---- encoder --------------------------------------------------------- */

static int mf_grow(mf_send *s, size_t more)
{
    size_t need = s->len + more;
    if (need <= s->cap)
        return MF_OK;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need)
        cap *= 2;
    unsigned char *n = mf__realloc(s->buf, cap);
    if (!n)
        return MF_ENOMEM;
    s->buf = n;
    s->cap = cap;
    return MF_OK;
}

int mf__wire_begin(mf_send *s, int kind)
{
    uint32_t magic = MF_WIRE_MAGIC;
    memset(s, 0, sizeof *s);
    if (mf_grow(s, MF_WIRE_HDR) != MF_OK)
        return MF_ENOMEM;
    memset(s->buf, 0, MF_WIRE_HDR);
    memcpy(s->buf, &magic, 4);
    s->buf[4] = MF_WIRE_VERSION;
    s->buf[5] = (unsigned char)kind;
    s->len = MF_WIRE_HDR;
    s->total = MF_WIRE_HDR;
    return MF_OK;
}

/* Append the record header `rec` and its payload. */
static int mf_add(mf_send *s, const unsigned char *rec, size_t reclen,
                  int flag_at, const void *p, size_t len, mf_free_fn release,
                  uint32_t flags)
{
    size_t pad = MF_PAD8(len) - len;
    int ool = len >= MF_WIRE_OOL_MIN && p;
    flags =
        (flags & (MF_REC_CHUNK | MF_REC_ISOLATE)) | (ool ? MF_REC_OOL : 0);

    if (ool && s->nool == s->capool) {
        size_t cap = s->capool ? 2 * s->capool : 4;
        mf_wire_ool *n = mf__realloc(s->ool, cap * sizeof *n);
        if (!n)
            goto nomem;
        s->ool = n;
        s->capool = cap;
    }
    if (mf_grow(s, reclen + (ool ? 0 : len + pad)) != MF_OK)
        goto nomem;
    memcpy(s->buf + s->len, rec, reclen);
    memcpy(s->buf + s->len + flag_at, &flags, 4);
    s->len += reclen;
    if (ool) {
        s->ool[s->nool++] = (mf_wire_ool){p, len, release, {0, 0}, 0};
        s->total += reclen + len;
    } else {
        if (len)
            memcpy(s->buf + s->len, p, len);
        memset(s->buf + s->len + len, 0, pad);
        s->len += len + pad;
        s->total += reclen + len + pad;
        if (release)
            release((void *)p);
    }
    s->count++;
    return MF_OK;
nomem:
    if (release)
        release((void *)p);
    return MF_ENOMEM;
}

int mf__wire_add_task_t(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                        size_t len, mf_free_fn release, uint32_t flags,
                        uint32_t timeout_ms)
{
    unsigned char rec[MF_WIRE_TASK_REC] = {0};
    uint64_t l = len;
    memcpy(rec, &tag, 8);
    memcpy(rec + 8, &fn, 8);
    memcpy(rec + 16, &l, 8);
    memcpy(rec + 28, &timeout_ms, 4);
    return mf_add(s, rec, sizeof rec, 24, p, len, release, flags);
}

int mf__wire_add_task(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                      size_t len, int owned, uint32_t flags)
{
    return mf__wire_add_task_t(s, tag, fn, p, len, owned ? mf__free : NULL,
                               flags, 0);
}

int mf__wire_add_result(mf_send *s, uint64_t tag, uint32_t status,
                        uint64_t start, uint64_t ns, const void *p,
                        size_t len, int owned, uint32_t flags)
{
    return mf__wire_add_result_r(s, tag, status, start, ns, p, len,
                                 owned ? mf__free : NULL, flags);
}

int mf__wire_add_result_r(mf_send *s, uint64_t tag, uint32_t status,
                          uint64_t start, uint64_t ns, const void *p,
                          size_t len, mf_free_fn release, uint32_t flags)
{
    unsigned char rec[MF_WIRE_RESULT_REC] = {0};
    uint64_t l = len;
    memcpy(rec, &tag, 8);
    memcpy(rec + 8, &status, 4);
    memcpy(rec + 16, &l, 8);
    memcpy(rec + 24, &start, 8);
    memcpy(rec + 32, &ns, 8);
    return mf_add(s, rec, sizeof rec, 12, p, len, release, flags);
}

void mf__wire_set_flags(mf_send *s, unsigned flags)
{
    uint16_t fl = (uint16_t)flags;
    memcpy(s->buf + 6, &fl, 2);
}

int mf__wire_finish(mf_send *s)
{
    memcpy(s->buf + 8, &s->count, 4);
    if (s->len > MF_WIRE_MAX)
        return MF_E2BIG;
    for (size_t i = 0; i < s->nool; i++)
        if (s->ool[i].len > MF_WIRE_MAX)
            return MF_E2BIG;
    return MF_OK;
}

int mf__wire_isend(mf_send *s, int dest, MPI_Comm comm)
{
    s->reqs = mf__malloc((1 + s->nool) * sizeof *s->reqs);
    if (!s->reqs)
        return MF_ENOMEM;
    if (MPI_Isend(s->buf, (int)s->len, MPI_BYTE, dest, MF_WIRE_TAG, comm,
                  &s->reqs[0]) != MPI_SUCCESS)
        return MF_EMPI;
    s->nreqs = 1;
    for (size_t i = 0; i < s->nool; i++) {
        if (MPI_Isend(s->ool[i].p, (int)s->ool[i].len, MPI_BYTE, dest,
                      MF_WIRE_TAG_DATA, comm,
                      &s->reqs[s->nreqs]) != MPI_SUCCESS)
            return MF_EMPI;
        s->nreqs++;
    }
    return MF_OK;
}

/* Real status arrays, not MPI_STATUSES_IGNORE: MPICH's headers declare
 * the array's size and gcc then warns (as an error here) about the
 * placeholder pointer. */
int mf__wire_test(mf_send *s)
{
    int flag = 0;
    MPI_Status st[8], *sts = st;
    if (!s->nreqs)
        return 1;
    if (s->nreqs > 8 && !(sts = mf__malloc(s->nreqs * sizeof *sts)))
        return 0; /* try again later */
    MPI_Testall(s->nreqs, s->reqs, &flag, sts);
    if (sts != st)
        mf__free(sts);
    return flag;
}

int mf__wire_wait(mf_send *s)
{
    MPI_Status st[8], *sts = st;
    int rc;
    if (!s->nreqs)
        return MF_OK;
    if (s->nreqs > 8 && !(sts = mf__malloc(s->nreqs * sizeof *sts))) {
        /* No memory for statuses: wait one request at a time. */
        for (int i = 0; i < s->nreqs; i++)
            if (MPI_Wait(&s->reqs[i], &st[0]) != MPI_SUCCESS)
                return MF_EMPI;
        return MF_OK;
    }
    rc = MPI_Waitall(s->nreqs, s->reqs, sts);
    if (sts != st)
        mf__free(sts);
    return rc == MPI_SUCCESS ? MF_OK : MF_EMPI;
}

void mf__wire_free(mf_send *s)
{
    for (size_t i = 0; i < s->nool; i++)
        if (s->ool[i].release)
            s->ool[i].release((void *)s->ool[i].p);
    mf__free(s->ool);
    mf__free(s->reqs);
    mf__free(s->buf);
    memset(s, 0, sizeof *s);
}

int mf__wire_recv_ool(MPI_Comm comm, int src, size_t len, mf_rbuf **out)
{
    mf_rbuf *rb = mf__rbuf_new(len);
    *out = NULL;
    if (!rb) {
        /* Take the message anyway, so the stream stays in step. */
        char *tmp = malloc(len ? len : 1);
        if (tmp)
            MPI_Recv(tmp, (int)len, MPI_BYTE, src, MF_WIRE_TAG_DATA, comm,
                     MPI_STATUS_IGNORE);
        free(tmp);
        return mf__fail(MF_ENOMEM, "out of memory for a %zu-byte payload",
                        len);
    }
    if (MPI_Recv(rb->data, (int)len, MPI_BYTE, src, MF_WIRE_TAG_DATA, comm,
                 MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        mf__rbuf_unref(rb);
        return mf__fail(MF_EMPI,
                        "receiving a %zu-byte payload from rank %d "
                        "failed",
                        len, src);
    }
    *out = rb;
    return MF_OK;
}

/* ---- chunks ------------------------------------------------------------ */

void mf__chunk_view_free(mf_chunk_view *v)
{
    mf__free(v->ptr);
    mf__free(v->len);
    mf__free(v->st);
    memset(v, 0, sizeof *v);
}

int mf__chunk_parse(const void *p, size_t len, int results, mf_chunk_view *v)
{
    const unsigned char *b = p;
    uint64_t n;
    size_t per = results ? 16 : 8, off;
    memset(v, 0, sizeof *v);
    if (!p || len < 8)
        return mf__fail(MF_EPROTO, "chunk of %zu bytes has no count", len);
    memcpy(&n, b, 8);
    if (n == 0 || n > (len - 8) / per)
        return mf__fail(MF_EPROTO,
                        "chunk count %llu does not fit in %zu "
                        "bytes",
                        (unsigned long long)n, len);
    v->n = (size_t)n;
    v->ptr = mf__malloc(v->n * sizeof *v->ptr);
    v->len = mf__malloc(v->n * sizeof *v->len);
    v->st = results ? mf__malloc(v->n * sizeof *v->st) : NULL;
    if (!v->ptr || !v->len || (results && !v->st)) {
        mf__chunk_view_free(v);
        return mf__fail(MF_ENOMEM, "out of memory parsing a chunk");
    }
    v->status = v->st;
    off = 8 + per * v->n;
    for (size_t i = 0; i < v->n; i++) {
        const unsigned char *h = b + 8 + per * i;
        uint64_t l;
        if (results) {
            uint32_t pad;
            memcpy(&v->st[i], h, 4);
            memcpy(&pad, h + 4, 4);
            memcpy(&l, h + 8, 8);
            if (v->st[i] > MF_RS_FAILED || pad) {
                mf__chunk_view_free(v);
                return mf__fail(MF_EPROTO, "chunk item %zu: bad status", i);
            }
        } else {
            memcpy(&l, h, 8);
        }
        if (l > len - off || MF_PAD8(l) > len - off) {
            mf__chunk_view_free(v);
            return mf__fail(MF_EPROTO, "chunk item %zu overruns the chunk",
                            i);
        }
        for (size_t k = (size_t)l; k < MF_PAD8(l); k++)
            if (b[off + k] != 0) {
                mf__chunk_view_free(v);
                return mf__fail(MF_EPROTO,
                                "chunk item %zu: padding is not "
                                "zero",
                                i);
            }
        v->ptr[i] = b + off;
        v->len[i] = (size_t)l;
        off += MF_PAD8(l);
    }
    if (off != len) {
        mf__chunk_view_free(v);
        return mf__fail(MF_EPROTO, "%zu stray bytes after a chunk",
                        len - off);
    }
    return MF_OK;
}
