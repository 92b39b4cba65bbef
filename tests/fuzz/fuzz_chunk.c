/*
 * fuzz_chunk.c — the chunk payload parser (mf__chunk_parse), both formats.
 *
 * Input: one chunk payload; it is parsed as map arguments (results = 0)
 * and as map results (results = 1). Checks:
 *  - the return code is MF_OK or MF_EPROTO (with a detail message), and
 *    MF_ENOMEM exactly when an allocation is made to fail; on any error
 *    the view is empty (n 0, NULL arrays) and nothing leaks;
 *  - on MF_OK: n >= 1 is the count in the payload, `status` is set only
 *    for results and every status is MF_RS_OK or MF_RS_FAILED; item i
 *    starts where the format says (after the item headers and the padded
 *    items before it), lies inside the input with its padding, and the
 *    items end exactly at the end of the input;
 *  - round trip: the view written back in the format of wire.h (count,
 *    item headers, items padded with zeros) is the input, padding bytes
 *    aside (which must be zero too in strict mode, MF_FUZZ_STRICT=1);
 *  - each allocation of a successful parse, made to fail in turn, gives
 *    MF_ENOMEM and an empty view; after that the same parse succeeds.
 */
#include "alloc.h"
#include "errors.h"
#include "fuzz_common.h"
#include "mpifutures.h"
#include "wire.h"
#include "wire_compat.h"

int fz_verdict = -1;

static void check_empty(const mf_chunk_view *v, const char *when)
{
    FZ_CHECK(v->n == 0 && v->ptr == NULL && v->len == NULL && v->st == NULL &&
                 v->status == NULL,
             "view not empty %s", when);
}

/* The format, written independently from wire.h's description. */
static unsigned char *encode(const mf_chunk_view *v, int results,
                             size_t *outlen)
{
    size_t per = results ? 16 : 8, len = 8 + per * v->n;
    for (size_t i = 0; i < v->n; i++)
        len += fz_pad8(v->len[i]);
    unsigned char *b = calloc(1, len);
    FZ_CHECK(b != NULL, "out of memory");
    uint64_t n = v->n;
    memcpy(b, &n, 8);
    size_t off = 8 + per * v->n;
    for (size_t i = 0; i < v->n; i++) {
        unsigned char *h = b + 8 + per * i;
        uint64_t l = v->len[i];
        if (results) {
            uint32_t st = v->status[i];
            memcpy(h, &st, 4);
            memcpy(h + 8, &l, 8);
        } else {
            memcpy(h, &l, 8);
        }
        if (l)
            memcpy(b + off, v->ptr[i], l);
        off += fz_pad8(l);
    }
    *outlen = len;
    return b;
}

static void one(const uint8_t *data, size_t size, int results)
{
    mf_chunk_view v;
    size_t per = results ? 16 : 8;
    const char *what = results ? "results" : "arguments";

    memset(&v, 0xa5, sizeof v);
    mf__clear_error();
    int rc = mf__chunk_parse(data, size, results, &v);
    if (rc != MF_OK) {
        const char *m = mf_last_error();
        FZ_CHECK(rc == MF_EPROTO, "%s: returned %s", what, mf_errname(rc));
        FZ_CHECK(strncmp(m, "MF_EPROTO: ", 11) == 0 && m[11],
                 "%s: MF_EPROTO without a detail message: '%s'", what, m);
        check_empty(&v, "after MF_EPROTO");
        return;
    }
    fz_verdict = 1;
    FZ_CHECK(size >= 8 && v.n >= 1 && v.n == fz_get64(data),
             "%s: n %zu, count in input %llu", what, v.n,
             size >= 8 ? (unsigned long long)fz_get64(data) : 0ull);
    FZ_CHECK(v.n <= (size - 8) / per, "%s: n %zu in %zu bytes", what, v.n,
             size);
    FZ_CHECK(v.ptr && v.len, "%s: arrays missing", what);
    FZ_CHECK(results ? v.status != NULL : v.status == NULL,
             "%s: status array %p", what, (const void *)v.status);
    size_t off = 8 + per * v.n;
    for (size_t i = 0; i < v.n; i++) {
        const uint8_t *h = data + 8 + per * i;
        if (results) {
            FZ_CHECK(v.status[i] == fz_get32(h) &&
                         v.status[i] <= FZ_CHUNK_RS_MAX &&
                         fz_get32(h + 4) == 0,
                     "%s: item %zu status %u", what, i, v.status[i]);
            FZ_CHECK(v.len[i] == fz_get64(h + 8), "%s: item %zu len", what,
                     i);
        } else {
            FZ_CHECK(v.len[i] == fz_get64(h), "%s: item %zu len", what, i);
        }
        FZ_CHECK(v.ptr[i] == data + off,
                 "%s: item %zu at offset %td, expected %zu", what, i,
                 v.ptr[i] ? v.ptr[i] - data : -1, off);
        FZ_CHECK(fz_inside(v.ptr[i], fz_pad8(v.len[i]), data, size),
                 "%s: item %zu (%zu bytes, padded) outside the input", what,
                 i, v.len[i]);
        if (fz_strict())
            for (size_t k = v.len[i]; k < fz_pad8(v.len[i]); k++)
                FZ_CHECK(data[off + k] == 0,
                         "strict: %s: item %zu padding byte is 0x%02x", what,
                         i, data[off + k]);
        off += fz_pad8(v.len[i]);
    }
    FZ_CHECK(off == size, "%s: items end at %zu of %zu", what, off, size);

    /* Round trip. */
    size_t elen = 0;
    unsigned char *e = encode(&v, results, &elen);
    FZ_CHECK(elen == size, "%s: re-encoded %zu bytes of %zu", what, elen,
             size);
    for (size_t i = 0; i < v.n; i++) { /* padding aside */
        size_t at = (size_t)(v.ptr[i] - data);
        memcpy(e + at + v.len[i], data + at + v.len[i],
               fz_pad8(v.len[i]) - v.len[i]);
    }
    FZ_CHECK(memcmp(e, data, size) == 0, "%s: round trip differs", what);
    free(e);
    size_t n = v.n;
    mf__chunk_view_free(&v);
    check_empty(&v, "after mf__chunk_view_free");

    /* Out of memory at each allocation. */
    for (unsigned long k = 1; k <= 4; k++) {
        mf__alloc_fail_after(k);
        rc = mf__chunk_parse(data, size, results, &v);
        mf__alloc_fail_after(0);
        if (rc == MF_OK) {
            FZ_CHECK(k > (results ? 3u : 2u),
                     "%s: allocation %lu failed, yet MF_OK", what, k);
            FZ_CHECK(v.n == n, "%s: second parse differs", what);
            mf__chunk_view_free(&v);
            break;
        }
        FZ_CHECK(rc == MF_ENOMEM, "%s: allocation %lu failed: %s", what, k,
                 mf_errname(rc));
        check_empty(&v, "after MF_ENOMEM");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_verdict = 0;
    one(data, size, 0);
    one(data, size, 1);
    return 0;
}
