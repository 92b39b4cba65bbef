/*
 * fuzz_wire_encode.c — the message encoder against the decoder.
 *
 * The input describes a message (kind, header flags, records with tags,
 * ids, statuses, times, chunk flags, owned or borrowed payloads of any
 * size, out-of-line ones included) and optionally which allocation fails.
 * The message is built with mf__wire_begin / mf_wire_add_* /
 * mf__wire_set_flags / mf__wire_finish and read back with mf__wire_open /
 * mf__wire_next. Checks:
 *  - with no injected failure every call succeeds, and the decoder gives
 *    back every field and payload byte; a payload goes out of line exactly
 *    when it has MF_WIRE_OOL_MIN bytes or more, and then the encoder keeps
 *    the caller's pointer (no copy); the inline part is a multiple of 8;
 *    `total` counts inline plus out-of-line bytes;
 *  - a result status above the largest one, or a task-only flag on a
 *    result (which the encoder does not check), is refused by the decoder
 *    with MF_EPROTO;
 *  - owned payloads are released exactly once (our release function
 *    counts; ASan/LSan see leaks and double frees): an inline one by the
 *    time mf_wire_add_* returns, an out-of-line one not before
 *    mf__wire_free() (it is sent from where it is), also when an add fails;
 *  - with an injected allocation failure the calls return MF_ENOMEM and
 *    mf__wire_free() cleans up.
 */
#include "alloc.h"
#include "fuzz_common.h"
#include "mpifutures.h"
#include "wire.h"
#include "wire_compat.h"

#define FZ_MAX_RECS 64
#define FZ_MAX_LARGE 3
#define FZ_BIG (MF_WIRE_OOL_MIN + 65536 + 4)

int fz_verdict = -1;

static unsigned char fz_big[FZ_BIG];
static size_t fz_released;

static void fz_count_release(void *p)
{
    fz_released++;
    free(p);
}

typedef struct want {
    uint64_t tag, fn, start, ns;
    uint32_t status, timeout;
    int chunk, owned, isolate, bad;
    const unsigned char *p; /* NULL for an empty payload given as NULL */
    size_t len;
    unsigned char *copy; /* the bytes, for comparison */
} want;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_src in = {data, size};
    static want w[FZ_MAX_RECS];
    size_t n = 0, nlarge = 0, owned_now = 0, owned_later = 0;
    if (!fz_big[1])
        for (size_t i = 0; i < FZ_BIG; i++)
            fz_big[i] = (unsigned char)(i * 131u + 7u);

    unsigned b0 = (unsigned)fz_take(&in, 1);
    unsigned b1 = (unsigned)fz_take(&in, 1);
    int kind = (int)((b0 & 0x7f) % 3) + 1; /* bit 7: MF_HDR_MORE */
    unsigned hflags = (b0 & 0x80) ? MF_HDR_MORE : 0;
    unsigned long fail_at = b1 >= 0xf0 ? b1 - 0xefu : 0;
    int bad_rec = 0;
    fz_released = 0;

    mf__alloc_fail_after(fail_at);
    mf_send s;
    int rc = mf__wire_begin(&s, kind);
    if (rc != MF_OK) {
        FZ_CHECK(rc == MF_ENOMEM && fail_at, "mf__wire_begin: %s",
                 mf_errname(rc));
        goto out;
    }
    while (kind != MF_MSG_SHUTDOWN && in.n && n < FZ_MAX_RECS) {
        want *c = &w[n];
        unsigned ctl = (unsigned)fz_take(&in, 1);
        memset(c, 0, sizeof *c);
        c->chunk = ctl & 1;
        c->owned = (ctl >> 1) & 1;
        /* ext: bit 0 isolate flag, bit 1 a timeout follows (where the
         * format has them; read whatever the format). */
        unsigned ext = (unsigned)fz_take(&in, 1);
        c->isolate = FZ_HAVE_ISOLATE && (ext & 1);
        c->tag = fz_take(&in, 8);
        if (kind == MF_MSG_TASKS) {
            c->fn = fz_take(&in, 8);
            c->timeout = (ext & 2) ? (uint32_t)fz_take(&in, 4) : 0;
            if (!FZ_HAVE_ISOLATE)
                c->timeout = 0;
        } else {
            c->status = (uint32_t)fz_take(&in, 1);
            if (!(ctl & 0x10))
                c->status %= FZ_RS_MAX + 1; /* else any: must be refused */
            c->start = (ctl & 0x20) ? fz_take(&in, 8) : 0;
            c->ns = fz_take(&in, 8);
            /* The isolate flag is for tasks: must be refused. */
            c->bad = c->status > FZ_RS_MAX || c->isolate;
            if (c->bad)
                bad_rec = 1;
        }
        size_t len = (size_t)fz_take(&in, 2);
        const unsigned char *p;
        if ((ctl & 4) && nlarge < FZ_MAX_LARGE) {
            nlarge++;
            len += MF_WIRE_OOL_MIN;
            p = fz_big + (ctl >> 6); /* unaligned too */
        } else {
            if (len > in.n)
                len = in.n;
            p = in.p;
            in.p += len;
            in.n -= len;
        }
        if (len == 0 && (ctl & 8))
            p = NULL;
        c->len = len;
        c->copy = malloc(len ? len : 1);
        FZ_CHECK(c->copy != NULL, "out of memory");
        if (len)
            memcpy(c->copy, p, len);
        if (c->owned) {
            unsigned char *o = malloc(len ? len : 1);
            FZ_CHECK(o != NULL, "out of memory");
            if (len)
                memcpy(o, p, len);
            p = o;
        }
        c->p = p;
        n++;
        uint32_t fl = (c->chunk ? MF_REC_CHUNK : 0) |
                      (c->isolate ? FZ_ISOLATE_FLAG : 0);
        /* Unknown flag bits and MF_REC_OOL from the caller are ignored. */
        if (ctl & 0x80)
            fl |= 0xfff0u | MF_REC_OOL;
        void (*rel)(void *) = c->owned ? fz_count_release : NULL;
        if (kind == MF_MSG_TASKS)
            rc = FZ_ADD_TASK(&s, c->tag, c->fn, p, len, rel, fl, c->timeout);
        else
            rc = FZ_ADD_RESULT_REL(&s, c->tag, c->status, c->start, c->ns, p,
                                   len, rel, fl);
        if (c->owned) {
            if (rc != MF_OK || len < MF_WIRE_OOL_MIN || !p)
                owned_now++; /* copied (or refused): released already */
            else
                owned_later++; /* sent in place: released after sending */
        }
        FZ_CHECK(!FZ_COUNTS_RELEASE || fz_released == owned_now,
                 "record %zu: %zu payloads released, expected %zu", n - 1,
                 fz_released, owned_now);
        if (rc != MF_OK) {
            FZ_CHECK(rc == MF_ENOMEM && fail_at, "adding record %zu: %s",
                     n - 1, mf_errname(rc));
            goto out;
        }
    }
    mf__wire_set_flags(&s, hflags);
    rc = mf__wire_finish(&s);
    FZ_CHECK(rc == MF_OK, "mf__wire_finish: %s", mf_errname(rc));
    FZ_CHECK(s.count == n, "count %u, added %zu", s.count, n);
    FZ_CHECK(s.len % 8 == 0, "inline length %zu", s.len);

    /* Read it back. */
    mf_wire_reader r;
    mf_wire_rec rec;
    size_t nool = 0, oolbytes = 0;
    rc = mf__wire_open(&r, s.buf, s.len);
    FZ_CHECK(rc == MF_OK, "own message refused: %s", mf_last_error());
    FZ_CHECK(r.kind == kind && r.flags == hflags && r.count == n,
             "header: kind %d flags %u count %u", r.kind, r.flags, r.count);
    for (size_t i = 0; i < n; i++) {
        want *c = &w[i];
        rc = mf__wire_next(&r, &rec);
        if (rc == MF_EPROTO && c->bad)
            goto out; /* as it should */
        FZ_CHECK(rc == MF_OK, "own record %zu refused: %s", i,
                 mf_last_error());
        FZ_CHECK(!c->bad, "record %zu: status %u, isolate %d accepted", i,
                 c->status, c->isolate);
        FZ_CHECK(rec.tag == c->tag && rec.fn == c->fn &&
                     rec.status == c->status && rec.ns == c->ns &&
                     rec.chunk == c->chunk && rec.len == c->len,
                 "record %zu fields differ", i);
        FZ_CHECK(!FZ_HAVE_START || FZ_REC_START(&rec) == c->start,
                 "record %zu: start differs", i);
        FZ_CHECK(FZ_REC_TIMEOUT(&rec) == c->timeout &&
                     FZ_REC_ISOLATE(&rec) == c->isolate,
                 "record %zu: timeout/isolate differ", i);
        int ool = c->len >= MF_WIRE_OOL_MIN;
        FZ_CHECK(rec.ool == ool, "record %zu of %zu bytes: ool %d", i, c->len,
                 rec.ool);
        if (ool) {
            FZ_CHECK(nool < s.nool && s.ool[nool].p == c->p &&
                         s.ool[nool].len == c->len &&
                         FZ_OOL_OWNED(&s.ool[nool]) == c->owned,
                     "out-of-line part %zu does not reference record %zu",
                     nool, i);
            FZ_CHECK(memcmp(s.ool[nool].p, c->copy, c->len) == 0,
                     "out-of-line payload %zu changed", i);
            nool++;
            oolbytes += c->len;
        } else {
            FZ_CHECK(fz_inside(rec.data, rec.len, s.buf, s.len),
                     "record %zu data outside the message", i);
            FZ_CHECK(c->len == 0 || memcmp(rec.data, c->copy, c->len) == 0,
                     "record %zu payload differs", i);
        }
    }
    FZ_CHECK(!bad_rec, "a bad status or flag went through");
    FZ_CHECK(mf__wire_next(&r, &rec) == MF_EDONE, "no MF_EDONE: %s",
             mf_last_error());
    FZ_CHECK(nool == s.nool, "%zu out-of-line parts, %zu records", s.nool,
             nool);
    FZ_CHECK(s.total == s.len + oolbytes, "total %zu, inline %zu + %zu",
             s.total, s.len, oolbytes);
out:
    mf__alloc_fail_after(0);
    mf__wire_free(&s); /* releases the owned payloads it holds */
    FZ_CHECK(!FZ_COUNTS_RELEASE || fz_released == owned_now + owned_later,
             "%zu owned payloads released of %zu", fz_released,
             owned_now + owned_later);
    for (size_t i = 0; i < n; i++)
        free(w[i].copy);
    return 0;
}
