/* wire.c — encode and decode the messages between root and workers.
 * See wire.h for the format. Decoding never trusts a length: each one is
 * checked against what is left of the buffer before it is used. */
#include "wire.h"

#include "internal.h"

#include <string.h>

#define MF_PAD8(n) (((n) + 7u) & ~(size_t)7u)

static uint32_t mf_bswap32(uint32_t v)
{
    return ((v & 0xffu) << 24) | ((v & 0xff00u) << 8) | ((v >> 8) & 0xff00u) |
           (v >> 24);
}

int mf_wire_open(mf_wire_reader *r, const void *buf, size_t len)
{
    uint32_t magic, count;
    uint8_t version, kind;
    const unsigned char *b = buf;

    memset(r, 0, sizeof *r);
    if (!buf || len < MF_WIRE_HDR)
        return mf__fail(MF_EPROTO, "message of %zu bytes is shorter than "
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
    if (kind < MF_MSG_TASKS || kind > MF_MSG_SHUTDOWN)
        return mf__fail(MF_EPROTO, "unknown message kind %u", kind);
    memcpy(&count, b + 8, 4);
    if (kind == MF_MSG_SHUTDOWN && count != 0)
        return mf__fail(MF_EPROTO, "shutdown message with %u records",
                        count);
    r->buf = b;
    r->len = len;
    r->off = MF_WIRE_HDR;
    r->kind = kind;
    r->count = count;
    return MF_OK;
}

int mf_wire_next(mf_wire_reader *r, mf_wire_rec *rec)
{
    size_t hdr = r->kind == MF_MSG_TASKS ? MF_WIRE_TASK_REC
                                          : MF_WIRE_RESULT_REC;
    uint64_t len;
    const unsigned char *p;

    if (!r->buf)
        return mf__fail(MF_EPROTO, "reader not open");
    if (r->seen == r->count) {
        if (r->off != r->len)
            return mf__fail(MF_EPROTO, "%zu stray bytes after %u records",
                            r->len - r->off, r->count);
        return MF_EDONE;
    }
    if (r->len - r->off < hdr)
        return mf__fail(MF_EPROTO, "record %u of %u is truncated", r->seen,
                        r->count);
    p = r->buf + r->off;
    memset(rec, 0, sizeof *rec);
    memcpy(&rec->tag, p, 8);
    if (r->kind == MF_MSG_TASKS) {
        memcpy(&rec->fn, p + 8, 8);
        memcpy(&len, p + 16, 8);
    } else {
        uint32_t pad;
        memcpy(&rec->status, p + 8, 4);
        memcpy(&pad, p + 12, 4);
        memcpy(&len, p + 16, 8);
        memcpy(&rec->ns, p + 24, 8);
        if (rec->status > MF_RS_FAILED || pad != 0)
            return mf__fail(MF_EPROTO, "record %u: bad status %u", r->seen,
                            rec->status);
    }
    r->off += hdr;
    if (len > r->len - r->off)
        return mf__fail(MF_EPROTO, "record %u: payload of %llu bytes "
                                   "overruns the message",
                        r->seen, (unsigned long long)len);
    rec->data = r->buf + r->off;
    rec->len = (size_t)len;
    /* The padding may be missing only after the last payload? No: the
     * encoder always pads, so require it. */
    if (MF_PAD8(len) > r->len - r->off)
        return mf__fail(MF_EPROTO, "record %u: missing padding", r->seen);
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

static int mf_push_seg(mf_send *s, mf_wire_seg seg)
{
    if (s->nsegs == s->capsegs) {
        size_t cap = s->capsegs ? 2 * s->capsegs : 8;
        mf_wire_seg *n = mf__realloc(s->segs, cap * sizeof *n);
        if (!n)
            return MF_ENOMEM;
        s->segs = n;
        s->capsegs = cap;
    }
    s->segs[s->nsegs++] = seg;
    return MF_OK;
}

static int mf_push_owned(mf_send *s, void *p)
{
    if (s->nowned == s->capowned) {
        size_t cap = s->capowned ? 2 * s->capowned : 4;
        void **n = mf__realloc(s->owned, cap * sizeof *n);
        if (!n)
            return MF_ENOMEM;
        s->owned = n;
        s->capowned = cap;
    }
    s->owned[s->nowned++] = p;
    return MF_OK;
}

int mf_wire_begin(mf_send *s, int kind)
{
    uint32_t magic = MF_WIRE_MAGIC, zero = 0;
    memset(s, 0, sizeof *s);
    s->type = MPI_DATATYPE_NULL;
    if (mf_grow(s, MF_WIRE_HDR) != MF_OK)
        return MF_ENOMEM;
    memcpy(s->buf, &magic, 4);
    s->buf[4] = MF_WIRE_VERSION;
    s->buf[5] = (unsigned char)kind;
    memset(s->buf + 6, 0, 2);
    memcpy(s->buf + 8, &zero, 4);
    memcpy(s->buf + 12, &zero, 4);
    s->len = MF_WIRE_HDR;
    s->total = MF_WIRE_HDR;
    return MF_OK;
}

/* Append a payload: copied if small, referenced if large. */
static int mf_add_payload(mf_send *s, const void *p, size_t len, int owned)
{
    static const unsigned char zeros[8];
    size_t pad = MF_PAD8(len) - len;
    int rc;
    if (len < MF_WIRE_COPY_MAX || !p) {
        if ((rc = mf_grow(s, len + pad)) != MF_OK)
            return rc;
        if (len)
            memcpy(s->buf + s->len, p, len);
        memset(s->buf + s->len + len, 0, pad);
        s->len += len + pad;
        s->total += len + pad;
        if (owned)
            mf__free((void *)p);
        return MF_OK;
    }
    /* Close the current buffer segment, reference the payload, reopen. */
    if ((rc = mf_push_seg(s, (mf_wire_seg){0, s->seg_from, NULL,
                                           s->len - s->seg_from})) != MF_OK)
        goto fail;
    if ((rc = mf_push_seg(s, (mf_wire_seg){1, 0, p, len})) != MF_OK)
        goto fail;
    if (owned && (rc = mf_push_owned(s, (void *)p)) != MF_OK) {
        s->nsegs--; /* not referenced after all */
        goto fail;
    }
    owned = 0;
    if (pad) {
        if ((rc = mf_grow(s, pad)) != MF_OK)
            return rc; /* payload already owned by s */
        s->seg_from = s->len;
        memcpy(s->buf + s->len, zeros, pad);
        s->len += pad;
    } else {
        s->seg_from = s->len;
    }
    s->total += len + pad;
    s->has_ext = 1;
    return MF_OK;
fail:
    if (owned)
        mf__free((void *)p);
    return rc;
}

int mf_wire_add_task(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                     size_t len, int owned)
{
    uint64_t l = len;
    if (mf_grow(s, MF_WIRE_TASK_REC) != MF_OK) {
        if (owned)
            mf__free((void *)p);
        return MF_ENOMEM;
    }
    memcpy(s->buf + s->len, &tag, 8);
    memcpy(s->buf + s->len + 8, &fn, 8);
    memcpy(s->buf + s->len + 16, &l, 8);
    s->len += MF_WIRE_TASK_REC;
    s->total += MF_WIRE_TASK_REC;
    s->count++;
    return mf_add_payload(s, p, len, owned);
}

int mf_wire_add_result(mf_send *s, uint64_t tag, uint32_t status,
                       uint64_t ns, const void *p, size_t len, int owned)
{
    uint64_t l = len;
    uint32_t zero = 0;
    if (mf_grow(s, MF_WIRE_RESULT_REC) != MF_OK) {
        if (owned)
            mf__free((void *)p);
        return MF_ENOMEM;
    }
    memcpy(s->buf + s->len, &tag, 8);
    memcpy(s->buf + s->len + 8, &status, 4);
    memcpy(s->buf + s->len + 12, &zero, 4);
    memcpy(s->buf + s->len + 16, &l, 8);
    memcpy(s->buf + s->len + 24, &ns, 8);
    s->len += MF_WIRE_RESULT_REC;
    s->total += MF_WIRE_RESULT_REC;
    s->count++;
    return mf_add_payload(s, p, len, owned);
}

int mf_wire_finish(mf_send *s)
{
    memcpy(s->buf + 8, &s->count, 4);
    if (s->total > MF_WIRE_MAX)
        return MF_E2BIG;
    if (!s->has_ext)
        return MF_OK;
    if (s->len > s->seg_from &&
        mf_push_seg(s, (mf_wire_seg){0, s->seg_from, NULL,
                                     s->len - s->seg_from}) != MF_OK)
        return MF_ENOMEM;
    /* One struct datatype over absolute addresses: the payloads go out
     * in place, without being copied into a staging buffer. */
    int *lens = mf__malloc(s->nsegs * sizeof *lens);
    MPI_Aint *disp = mf__malloc(s->nsegs * sizeof *disp);
    int rc = MF_OK;
    if (!lens || !disp) {
        rc = MF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->nsegs; i++) {
        const void *p = s->segs[i].ext ? s->segs[i].p : s->buf + s->segs[i].off;
        lens[i] = (int)s->segs[i].len;
        MPI_Get_address(p, &disp[i]);
    }
    if (MPI_Type_create_hindexed((int)s->nsegs, lens, disp, MPI_BYTE,
                                 &s->type) != MPI_SUCCESS ||
        MPI_Type_commit(&s->type) != MPI_SUCCESS)
        rc = MF_EMPI;
out:
    mf__free(lens);
    mf__free(disp);
    return rc;
}

int mf_wire_isend(mf_send *s, int dest, MPI_Comm comm, MPI_Request *req)
{
    int rc;
    if (s->has_ext)
        rc = MPI_Isend(MPI_BOTTOM, 1, s->type, dest, MF_WIRE_TAG, comm, req);
    else
        rc = MPI_Isend(s->buf, (int)s->len, MPI_BYTE, dest, MF_WIRE_TAG, comm,
                       req);
    return rc == MPI_SUCCESS ? MF_OK : MF_EMPI;
}

void mf_wire_free(mf_send *s)
{
    if (s->type != MPI_DATATYPE_NULL)
        MPI_Type_free(&s->type);
    for (size_t i = 0; i < s->nowned; i++)
        mf__free(s->owned[i]);
    mf__free(s->owned);
    mf__free(s->segs);
    mf__free(s->buf);
    memset(s, 0, sizeof *s);
    s->type = MPI_DATATYPE_NULL;
}
