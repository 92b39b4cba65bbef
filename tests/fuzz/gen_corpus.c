/*
 * gen_corpus.c — writes the seed corpus of the fuzz targets:
 *
 *     gen_corpus DIR        (DIR/wire, DIR/wire_encode, DIR/chunk, ...)
 *
 * Valid inputs come from the library's own encoders (mf_wire_*,
 * mf_mpz_pack, mf__journal_append), so they follow the format of the sources
 * the generator is built with; edge cases and malformed inputs are made from
 * them by changing single fields. Files are named after what they hold;
 * existing files of the same name are overwritten, others are left alone.
 * Build target `fuzz_corpus` runs it on tests/fuzz/corpus.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"
#include "journal.h"
#include "mpifutures.h"
#include "wire.h"
#include "wire_compat.h"

#ifdef MF_FUZZ_HAVE_GMP
#include <mpifutures/gmp.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *g_dir;
static int g_files, g_errors;

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_dir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_corpus: %s: %s\n", path, strerror(errno));
        g_errors++;
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: %s: write failed\n", path);
        g_errors++;
        return;
    }
    g_files++;
}

static void set32(unsigned char *b, size_t at, uint32_t v)
{
    memcpy(b + at, &v, 4);
}

static void set64(unsigned char *b, size_t at, uint64_t v)
{
    memcpy(b + at, &v, 8);
}

/* ---- wire ----------------------------------------------------------- */

static unsigned char g_big[MF_WIRE_OOL_MIN + 100];

/* A finished message in a malloc'd copy (so it can be edited). */
static unsigned char *finish(mf_send *s, unsigned flags, size_t *len)
{
    mf__wire_set_flags(s, flags);
    if (mf__wire_finish(s) != MF_OK) {
        fprintf(stderr, "gen_corpus: mf__wire_finish failed\n");
        exit(1);
    }
    unsigned char *b = malloc(s->len + 64);
    memset(b, 0, s->len + 64);
    memcpy(b, s->buf, s->len);
    *len = s->len;
    mf__wire_free(s);
    return b;
}

static unsigned char *tasks_small(size_t *len)
{
    mf_send s;
    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 1, 0x1111222233334444ull, "abc", 3, 0, 0);
    mf__wire_add_task(&s, 2, 0x1111222233334444ull, NULL, 0, 0, 0);
    mf__wire_add_task(&s, 3, 0x5555666677778888ull, "12345678", 8, 0, 0);
    mf__wire_add_task(&s, 4, 0x5555666677778888ull, "123456789", 9, 0, 0);
    return finish(&s, 0, len);
}

static unsigned char *results_small(size_t *len)
{
    mf_send s;
    mf__wire_begin(&s, MF_MSG_RESULTS);
    FZ_ADD_RESULT(&s, 7, MF_RS_OK, 1000, 250, "result", 6, 0, 0);
    FZ_ADD_RESULT(&s, 8, MF_RS_FAILED, 2000, 99, "task failed: boom", 17, 0,
                  0);
    FZ_ADD_RESULT(&s, 9, MF_RS_OK, 3000, 1, NULL, 0, 0, 0);
    return finish(&s, 0, len);
}

/* Chunk payloads (format in wire.h). */
static size_t chunk_args(unsigned char *b, int n, const size_t *lens)
{
    size_t off = 8 + 8 * (size_t)n;
    set64(b, 0, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        set64(b, 8 + 8 * (size_t)i, lens[i]);
        for (size_t k = 0; k < lens[i]; k++)
            b[off + k] = (unsigned char)('a' + (i + (int)k) % 26);
        memset(b + off + lens[i], 0, ((lens[i] + 7) & ~(size_t)7) - lens[i]);
        off += (lens[i] + 7) & ~(size_t)7;
    }
    return off;
}

static size_t chunk_results(unsigned char *b, int n, const size_t *lens,
                            const uint32_t *st)
{
    size_t off = 8 + 16 * (size_t)n;
    set64(b, 0, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        set32(b, 8 + 16 * (size_t)i, st[i]);
        set32(b, 12 + 16 * (size_t)i, 0);
        set64(b, 16 + 16 * (size_t)i, lens[i]);
        for (size_t k = 0; k < lens[i]; k++)
            b[off + k] = (unsigned char)('A' + (i + (int)k) % 26);
        memset(b + off + lens[i], 0, ((lens[i] + 7) & ~(size_t)7) - lens[i]);
        off += (lens[i] + 7) & ~(size_t)7;
    }
    return off;
}

static void gen_wire(void)
{
    mf_send s;
    unsigned char *b, chunk[512];
    size_t n, cn;
    const size_t TL = 16 + 16, RS = 16 + 8, RF = 16 + 12, RL = 16 + 16;

    mf__wire_begin(&s, MF_MSG_TASKS);
    b = finish(&s, 0, &n);
    put("wire", "ok-tasks-empty", b, n);
    free(b);

    b = tasks_small(&n);
    put("wire", "ok-tasks-small", b, n);
    /* Malformed versions of it. */
    put("wire", "bad-short-header", b, 15);
    put("wire", "bad-truncated-record", b, 16 + 20);
    put("wire", "bad-truncated-payload", b, n - 8);
    put("wire", "bad-stray-bytes", b, n + 8);
    b[0] ^= 0xff;
    put("wire", "bad-magic", b, n);
    b[0] ^= 0xff;
    {
        unsigned char t;
        t = b[0], b[0] = b[3], b[3] = t;
        t = b[1], b[1] = b[2], b[2] = t;
        put("wire", "bad-other-byte-order", b, n);
        t = b[0], b[0] = b[3], b[3] = t;
        t = b[1], b[1] = b[2], b[2] = t;
    }
    b[4] = 2;
    put("wire", "bad-version", b, n);
    b[4] = MF_WIRE_VERSION;
    b[5] = 0;
    put("wire", "bad-kind-0", b, n);
    b[5] = 4;
    put("wire", "bad-kind-4", b, n);
    b[5] = MF_MSG_TASKS;
    b[6] = 2;
    put("wire", "bad-header-flags", b, n);
    b[6] = 0;
    set32(b, 8, 5);
    put("wire", "bad-count-too-high", b, n);
    set32(b, 8, 3);
    put("wire", "bad-count-too-low", b, n);
    set32(b, 8, 4);
    set64(b, TL, 1000);
    put("wire", "bad-payload-overrun", b, n);
    set64(b, TL, ~(uint64_t)0 - 3); /* padding would wrap */
    put("wire", "bad-payload-len-wraps", b, n);
    set64(b, TL, 3);
    set32(b, TL + 8, 8);
    put("wire", "bad-record-flags", b, n);
    set32(b, TL + 8, 0);
    set32(b, TL + 12, 1500);
#if FZ_HAVE_ISOLATE
    put("wire", "task-timeout", b, n);
    set32(b, TL + 8, FZ_ISOLATE_FLAG);
    put("wire", "task-isolate-timeout", b, n);
    set32(b, TL + 8, 0);
#else
    put("wire", "task-timeout", b, n); /* bad: reserved word */
#endif
    set32(b, TL + 12, 0);
    set32(b, 12, 0xdeadbeef);
    put("wire", "odd-reserved-header-word", b, n);
    set32(b, 12, 0);
    b[16 + 32 + 3] = 'x'; /* a padding byte of the first payload */
    put("wire", "odd-padding-byte", b, n);
    free(b);

    /* An out-of-line record of 5 bytes (the encoder sends those inline). */
    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 9, 0xabcdef, NULL, 0, 0, 0);
    b = finish(&s, 0, &n);
    set64(b, TL, 5);
    set32(b, TL + 8, MF_REC_OOL);
    put("wire", "odd-ool-small", b, n);
    free(b);

    /* A header claiming many records with none behind it. */
    mf__wire_begin(&s, MF_MSG_TASKS);
    b = finish(&s, 0, &n);
    set32(b, 8, 0xffffffffu);
    put("wire", "bad-count-huge-no-records", b, n);
    free(b);

    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 10, 0xabcdef, "x", 1, 0, 0);
    b = finish(&s, MF_HDR_MORE, &n);
    put("wire", "ok-tasks-more", b, n);
    /* The last payload without its padding. */
    put("wire", "bad-unpadded-end", b, n - 7);
    free(b);

    {
        size_t lens[3] = {0, 5, 8};
        cn = chunk_args(chunk, 3, lens);
    }
    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 11, 0xabcdef, chunk, cn, 0, MF_REC_CHUNK);
    mf__wire_add_task(&s, 12, 0xabcdef, "y", 1, 0, 0);
    b = finish(&s, 0, &n);
    put("wire", "ok-tasks-chunk", b, n);
    free(b);

    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 13, 0xabcdef, "small", 5, 0, 0);
    mf__wire_add_task(&s, 14, 0xabcdef, g_big, MF_WIRE_OOL_MIN, 0, 0);
    mf__wire_add_task(&s, 15, 0xabcdef, "after", 5, 0, 0);
    b = finish(&s, 0, &n);
    put("wire", "ok-tasks-ool", b, n);
    set64(b, 16 + 40 + 16, (uint64_t)MF_WIRE_MAX + 1);
    put("wire", "bad-ool-too-large", b, n);
    set64(b, 16 + 40 + 16, (uint64_t)MF_WIRE_MAX);
    put("wire", "ok-ool-max", b, n);
    free(b);

    /* An inline payload of MF_WIRE_OOL_MIN bytes (encoder: out of line). */
    mf__wire_begin(&s, MF_MSG_TASKS);
    mf__wire_add_task(&s, 16, 0xabcdef, g_big, 100, 0, 0);
    b = finish(&s, 0, &n);
    {
        size_t m = n - 100 - 4 + MF_WIRE_OOL_MIN;
        unsigned char *c = calloc(1, m);
        memcpy(c, b, 16 + 32);
        set64(c, TL, MF_WIRE_OOL_MIN);
        memcpy(c + 16 + 32, g_big, MF_WIRE_OOL_MIN);
        put("wire", "odd-inline-large", c, m);
        free(c);
    }
    free(b);

    b = results_small(&n);
    put("wire", "ok-results-small", b, n);
    set32(b, RS, FZ_RS_MAX + 1);
    put("wire", "bad-result-status", b, n);
    set32(b, RS, FZ_RS_MAX);
    put("wire", "result-status-max", b, n);
    set32(b, RS, MF_RS_OK);
#if FZ_HAVE_ISOLATE
    set32(b, RF, FZ_ISOLATE_FLAG);
    put("wire", "bad-result-isolate", b, n);
#endif
    set32(b, RF, 8);
    put("wire", "bad-result-flags", b, n);
    set32(b, RF, 0);
    set64(b, RL, 1000);
    put("wire", "bad-result-len", b, n);
    free(b);

    {
        size_t lens[2] = {3, 4};
        uint32_t st[2] = {MF_RS_OK, MF_RS_FAILED};
        cn = chunk_results(chunk, 2, lens, st);
    }
    mf__wire_begin(&s, MF_MSG_RESULTS);
    FZ_ADD_RESULT(&s, 20, MF_RS_OK, 5, 6, chunk, cn, 0, MF_REC_CHUNK);
    FZ_ADD_RESULT(&s, 21, MF_RS_OK, 7, 8, g_big, MF_WIRE_OOL_MIN + 1, 0, 0);
    b = finish(&s, 0, &n);
    put("wire", "ok-results-chunk-ool", b, n);
    free(b);

    mf__wire_begin(&s, MF_MSG_SHUTDOWN);
    b = finish(&s, 0, &n);
    put("wire", "ok-shutdown", b, n);
    set32(b, 8, 1);
    put("wire", "bad-shutdown-count", b, n);
    free(b);
    mf__wire_begin(&s, MF_MSG_SHUTDOWN);
    b = finish(&s, MF_HDR_MORE, &n);
    put("wire", "ok-shutdown-more", b, n);
    free(b);
    put("wire", "bad-empty", "", 0);
}

/* ---- wire_encode: descriptions for fuzz_wire_encode.c ---------------- */

typedef struct desc {
    unsigned char b[4096];
    size_t n;
} desc;

static void d8(desc *d, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        d->b[d->n++] = (unsigned char)(v >> (8 * i));
}

static void dbytes(desc *d, const char *s, size_t n)
{
    memcpy(d->b + d->n, s, n);
    d->n += n;
}

/* A task record: ctl, ext, tag, fn, [timeout], len u16, payload (unless
 * large). */
static void dtask(desc *d, unsigned ctl, unsigned ext, uint64_t tag,
                  const char *p, size_t len)
{
    d8(d, ctl, 1);
    d8(d, ext, 1);
    d8(d, tag, 8);
    d8(d, 0x1234567890abcdefull, 8);
    if (ext & 2)
        d8(d, 2500, 4);
    d8(d, len, 2);
    if (!(ctl & 4))
        dbytes(d, p, len);
}

static void dresult(desc *d, unsigned ctl, unsigned ext, uint64_t tag,
                    unsigned status, const char *p, size_t len)
{
    d8(d, ctl, 1);
    d8(d, ext, 1);
    d8(d, tag, 8);
    d8(d, status, 1);
    if (ctl & 0x20)
        d8(d, 0x0102030405060708ull, 8);
    d8(d, 123456789, 8);
    d8(d, len, 2);
    if (!(ctl & 4))
        dbytes(d, p, len);
}

static void gen_wire_encode(void)
{
    desc d;
    char name[64];

    d.n = 0;
    d8(&d, 0, 1); /* TASKS */
    d8(&d, 0, 1);
    dtask(&d, 0, 0, 1, "abc", 3);
    dtask(&d, 1, 0, 2, "", 0);         /* chunk flag */
    dtask(&d, 2, 0, 3, "owned!!!", 8); /* owned */
    dtask(&d, 8, 0, 4, "", 0);         /* NULL payload */
    dtask(&d, 0x80, 0, 5, "flags", 5); /* junk flags from the caller */
    dtask(&d, 0, 3, 6, "isolated", 8); /* isolate flag and a timeout */
    put("wire_encode", "tasks-small", d.b, d.n);
    for (unsigned f = 0xf0; f <= 0xf6; f++) {
        d.b[1] = (unsigned char)f;
        snprintf(name, sizeof name, "tasks-small-fail-%u", f - 0xefu);
        put("wire_encode", name, d.b, d.n);
    }

    d.n = 0;
    d8(&d, 0x80, 1); /* TASKS, MORE */
    d8(&d, 0, 1);
    dtask(&d, 0, 0, 1, "abc", 3);
    dtask(&d, 4, 0, 2, NULL, 10);       /* out of line */
    dtask(&d, 6 | 0x40, 0, 3, NULL, 1); /* owned, out of line, unaligned */
    dtask(&d, 0, 0, 4, "z", 1);
    put("wire_encode", "tasks-ool", d.b, d.n);
    d.b[1] = 0xf2;
    put("wire_encode", "tasks-ool-fail-3", d.b, d.n);
    d.b[1] = 0xf4;
    put("wire_encode", "tasks-ool-fail-5", d.b, d.n);

    d.n = 0;
    d8(&d, 1, 1); /* RESULTS */
    d8(&d, 0, 1);
    dresult(&d, 0x20, 0, 1, 0, "result", 6);
    dresult(&d, 0, 0, 2, 1, "error text", 10);
    dresult(&d, 2 | 0x20, 0, 3, 0, "owned result", 12);
    dresult(&d, 4 | 0x20, 0, 4, 0, NULL, 200);
    dresult(&d, 0, 0, 5, FZ_RS_MAX, "last status", 11);
    put("wire_encode", "results", d.b, d.n);

    d.n = 0;
    d8(&d, 1, 1);
    d8(&d, 0, 1);
    dresult(&d, 0x10, 0, 1, 0x7f, "bad", 3); /* the decoder must refuse */
    put("wire_encode", "results-bad-status", d.b, d.n);
    d.n = 2;
    dresult(&d, 0, 1, 1, 0, "isolate", 7); /* a task-only flag */
    put("wire_encode", "results-isolate-flag", d.b, d.n);

    d.n = 0;
    d8(&d, 2 | 0x80, 1); /* SHUTDOWN, MORE */
    d8(&d, 0, 1);
    put("wire_encode", "shutdown", d.b, d.n);
    d.b[1] = 0xf0;
    put("wire_encode", "shutdown-fail-1", d.b, d.n);
}

/* ---- chunk ---------------------------------------------------------- */

static void gen_chunk(void)
{
    unsigned char b[1024];
    size_t n;
    memset(b, 0, sizeof b); /* bytes past an item are written too */
    {
        size_t lens[1] = {0};
        n = chunk_args(b, 1, lens);
        put("chunk", "ok-args-one-empty", b, n);
    }
    {
        size_t lens[4] = {0, 5, 8, 17};
        n = chunk_args(b, 4, lens);
        put("chunk", "ok-args-four", b, n);
        put("chunk", "bad-truncated", b, n - 1);
        put("chunk", "bad-stray", b, n + 8);
        set64(b, 8, 6);
        put("chunk", "bad-lens", b, n);
        set64(b, 8, 0);
        set64(b, 0, 0);
        put("chunk", "bad-count-0", b, n);
        set64(b, 0, ~(uint64_t)0);
        put("chunk", "bad-count-huge", b, n);
        set64(b, 0, 4);
        set64(b, 8 + 24, ~(uint64_t)0 - 2); /* padding would wrap */
        put("chunk", "bad-len-wraps", b, n);
        set64(b, 8 + 24, 17);
        b[8 + 32 + 5] = 'x'; /* padding byte of item 1 (5 bytes) */
        put("chunk", "odd-padding-byte", b, n);
    }
    {
        size_t lens[3] = {3, 0, 12};
        uint32_t st[3] = {MF_RS_OK, MF_RS_OK, MF_RS_FAILED};
        n = chunk_results(b, 3, lens, st);
        put("chunk", "ok-results-three", b, n);
        set32(b, 8 + 16, 2);
        put("chunk", "bad-result-status", b, n);
        set32(b, 8 + 16, 0);
        set32(b, 8 + 16 + 4, 1);
        put("chunk", "bad-result-pad", b, n);
    }
    /* Valid in both formats: n=1, len 8 | status 0, len 0 ... */
    {
        memset(b, 0, 32);
        set64(b, 0, 1);
        set64(b, 8, 8);
        put("chunk", "ok-both-formats", b, 24);
    }
    put("chunk", "bad-empty", "", 0);
    put("chunk", "bad-count-only", "\1\0\0\0\0\0\0\0", 8);
}

/* ---- gmp ------------------------------------------------------------ */

#ifdef MF_FUZZ_HAVE_GMP
static size_t pack(const mpz_t z, unsigned char *b, int padded)
{
    size_t n = padded ? mf_mpz_padded_size(z) : mf_mpz_packed_size(z);
    memset(b, 0, n);
    mf_mpz_pack(z, b, n, NULL);
    return n;
}

static void fix_check(unsigned char *h)
{
    unsigned s = 0;
    for (int i = 0; i < 16; i++)
        if (i != 7)
            s += h[i];
    h[7] = (unsigned char)(0xA5u ^ (s & 0xFFu));
}

static void gen_gmp(void)
{
    static unsigned char b[8192], c[16384];
    struct {
        const char *name, *value;
    } vals[] = {
        {"zero", "0"},
        {"one", "1"},
        {"minus-one", "-1"},
        {"byte-255", "255"},
        {"byte-256", "256"},
        {"limb-top", "18446744073709551615"},
        {"limb-next", "18446744073709551616"},
        {"minus-2-64", "-18446744073709551616"},
        {"ten-40", "10000000000000000000000000000000000000000"},
        {"minus-2-128-1", "-340282366920938463463374607431768211457"},
    };
    mpz_t z, w;
    mpz_inits(z, w, NULL);
    char name[96];
    size_t n;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        mpz_set_str(z, vals[i].value, 10);
        n = pack(z, b, 0);
        snprintf(name, sizeof name, "ok-%s", vals[i].name);
        put("gmp", name, b, n);
        n = pack(z, b, 1);
        snprintf(name, sizeof name, "padded-%s", vals[i].name);
        put("gmp", name, b, n);
    }
    mpz_fac_ui(z, 100);
    n = pack(z, b, 0);
    put("gmp", "ok-100-factorial", b, n);
    put("gmp", "bad-truncated", b, n - 1);
    b[n] = 0;
    put("gmp", "bad-trailing-byte", b, n + 1);
    b[0] = 'X';
    put("gmp", "bad-magic", b, n);
    b[0] = 0x4D;
    b[4] = 2;
    fix_check(b);
    put("gmp", "bad-version", b, n);
    b[4] = 1;
    b[5] = 2;
    fix_check(b);
    put("gmp", "bad-sign", b, n);
    b[5] = 0;
    b[6] = 1;
    fix_check(b);
    put("gmp", "bad-flags", b, n);
    b[6] = 0;
    fix_check(b);
    b[7] ^= 1;
    put("gmp", "bad-check-byte", b, n);
    b[7] ^= 1;
    for (int i = 8; i < 16; i++)
        b[i] = 0xff; /* m = 2^64 - 1 */
    fix_check(b);
    put("gmp", "bad-length-huge", b, n);

    /* "-0" and a high zero byte, with right check bytes. */
    mpz_set_ui(z, 0);
    n = pack(z, b, 0);
    b[5] = 1;
    fix_check(b);
    put("gmp", "bad-minus-zero", b, n);
    mpz_set_ui(z, 0x1234);
    n = pack(z, b, 0);
    b[n] = 0;
    b[8] = 3;
    fix_check(b);
    put("gmp", "bad-high-zero-byte", b, n + 1);

    /* Several values, one after another, padded (mf-factorial's mul
     * argument: two padded encodings) and not. */
    mpz_set_str(z, "123456789012345678901234567890", 10);
    mpz_set_si(w, -77);
    n = pack(z, c, 1);
    n += pack(w, c + n, 1);
    put("gmp", "seq-two-padded", c, n);
    n = pack(z, c, 0);
    n += pack(w, c + n, 0);
    mpz_set_ui(z, 0);
    n += pack(z, c + n, 0);
    put("gmp", "seq-three-packed", c, n);
    /* A padded value whose padding is not zero (no view possible). */
    mpz_set_ui(z, 0x010203);
    n = pack(z, b, 1);
    b[n - 1] = 9;
    put("gmp", "odd-dirty-padding", b, n);
    mpz_clears(z, w, NULL);
}
#endif

/* ---- journal ------------------------------------------------------ */

static char g_jpath[4200];

/* A journal written by the library: `nrec` records from `recs`. */
typedef struct jr {
    uint64_t fn;
    const char *arg, *bytes;
    size_t len;
    uint32_t status, reason;
} jr;

static unsigned char *journal(const jr *recs, int nrec, size_t *n)
{
    mf_journal *j = NULL;
    char msg[256];
    unlink(g_jpath);
    if (mf__journal_open(g_jpath, FZ_JOURNAL_DIGEST, &j, msg, sizeof msg) !=
        MF_OK) {
        fprintf(stderr, "gen_corpus: journal: %s\n", msg);
        exit(1);
    }
    for (int i = 0; i < nrec; i++) {
        uint64_t d[2];
        mf__journal_digest(recs[i].arg, strlen(recs[i].arg), d);
        mf__journal_append(j, recs[i].fn, d, recs[i].status, recs[i].reason,
                           recs[i].bytes, recs[i].len);
    }
    mf__journal_close(j);
    FILE *f = fopen(g_jpath, "rb");
    static unsigned char buf[65536];
    *n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    unlink(g_jpath);
    return buf;
}

static void gen_journal(void)
{
    static char big[3000];
    unsigned char *b, c[65536];
    size_t n;
    memset(big, 'q', sizeof big);
    jr three[] = {
        {0x1111, "arg-1", "42", 2, MF_RS_OK, 0},
        {0x1111, "arg-2", "task failed: boom", 17, MF_RS_FAILED, 0},
        {0x2222, "arg-3", "", 0, MF_RS_OK, 0},
    };
    jr dup[] = {
        {0x3333, "same", "first", 5, MF_RS_OK, 0},
        {0x3333, "same", "second", 6, MF_RS_OK, 0},
    };
    jr one_big[] = {{0x4444, "big", big, sizeof big, MF_RS_OK, 0}};

    snprintf(g_jpath, sizeof g_jpath, "%s/.journal-tmp", g_dir);
    put("journal", "ok-empty", "", 0);
    b = journal(three, 0, &n);
    put("journal", "ok-header-only", b, n);
    b = journal(dup, 2, &n);
    put("journal", "ok-duplicate-key", b, n);
    b = journal(one_big, 1, &n);
    put("journal", "ok-big-record", b, n);

    b = journal(three, 3, &n);
    memcpy(c, b, n);
    put("journal", "ok-three", c, n);
    put("journal", "torn-cut-1", c, n - 1);
    put("journal", "torn-cut-9", c, n - 9);
    put("journal", "torn-cut-30", c, n - 30);
    c[n - 1] ^= 1;
    put("journal", "torn-bad-checksum", c, n);
    c[n - 1] ^= 1;
    {
        /* The last record (body 40 bytes, no result): its magic, its
         * length, and a length field that disagrees under a valid sum. */
        size_t last = n - 56;
        uint64_t d[2];
        c[last] ^= 0xff;
        put("journal", "torn-bad-record-magic", c, n);
        c[last] ^= 0xff;
        set32(c, last + 4, 39);
        put("journal", "torn-short-body", c, n);
        set32(c, last + 4, 40);
        set64(c, last + 8 + 32, 1);
        mf__hash128(c + last, 48, 0x243f6a8885a308d3ull, d);
        set64(c, last + 48, d[0]);
        put("journal", "torn-len-mismatch", c, n);
    }
    memcpy(c, b, n);
    c[0] = 'X';
    put("journal", "bad-magic", c, n);
    c[0] = 'M';
    set32(c, 8, 2);
    put("journal", "bad-version", c, n);
    set32(c, 8, 1);
    set64(c, 16, FZ_JOURNAL_DIGEST ^ 1);
    put("journal", "bad-registry", c, n);
    set64(c, 16, FZ_JOURNAL_DIGEST);
    put("journal", "bad-short-header", c, 10);
    set32(c, 12, 1);
    put("journal", "odd-reserved-word", c, n);
}

/* ---- parse_u64 ------------------------------------------------------ */

static void gen_parse_u64(void)
{
    static const char *const s[][2] = {
        {"ok-zero", "0"},
        {"ok-simple", "42"},
        {"ok-blanks", " \t 42 \t\r\n"},
        {"ok-leading-zeros", "0000000000000000000000000000007"},
        {"ok-max", "18446744073709551615"},
        {"bad-max-plus-1", "18446744073709551616"},
        {"bad-huge", "99999999999999999999999999"},
        {"bad-minus", "-1"},
        {"bad-plus", "+1"},
        {"bad-two-numbers", "1 2"},
        {"bad-empty", ""},
        {"bad-blank-only", "  \n"},
        {"bad-hex", "0x10"},
        {"bad-newline-first", "\n5"},
        {"nul-inside", "12\0"
                       "34"},
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        put("parse_u64", s[i][0], s[i][1],
            strcmp(s[i][0], "nul-inside") == 0 ? 5 : strlen(s[i][1]));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    g_dir = argv[1];
    if (mkdir(g_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen_corpus: %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < sizeof g_big; i++)
        g_big[i] = (unsigned char)(i * 131u + 7u);
    gen_wire();
    gen_wire_encode();
    gen_chunk();
#ifdef MF_FUZZ_HAVE_GMP
    gen_gmp();
#endif
    gen_parse_u64();
    gen_journal();
    printf("gen_corpus: %d files written under %s\n", g_files, g_dir);
    return g_errors ? 1 : 0;
}
