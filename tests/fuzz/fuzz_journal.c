/*
 * fuzz_journal.c — the resume journal reader (mf__journal_open, which
 * reads the file and parses it with mf__journal_parse; src/journal.c).
 *
 * Input: the bytes of a journal file. They are written to a file in a
 * private temporary directory, which is opened as the journal of a
 * program whose registry digest is FZ_JOURNAL_DIGEST. Checks, against a
 * reference reader written from journal.c's format comment (with its own
 * MurmurHash3 x64-128, also compared with mf__hash128 on the input):
 *  - the return code: MF_OK, MF_EINVAL (not a journal, other version) or
 *    MF_EMISMATCH (other registry) as the reference says, with a message;
 *    on error no journal and the file is unchanged;
 *  - on MF_OK: the reference reads good records (whole, checksum right)
 *    and skips damaged bytes up to the next good record (resync); loaded
 *    = its replayable records (results and the task's own failures),
 *    stale = the others, damaged from one per separate stretch of
 *    skipped bytes to that plus one per 16 of those bytes,
 *    torn = the bytes skipped plus those after the last good record, and
 *    the file is cut back to the end of the last good record, no further
 *    (an empty file gets a fresh header);
 *  - every replayable record can be found by (function, digest) and
 *    gives the status, reason and bytes of the first replayable record
 *    with that key; a key with no replayable record is not found;
 *  - round trip: the good records appended in order to a new journal
 *    (mf__journal_append) give the header and the replayable records of
 *    the input back byte for byte (the header's reserved word aside, or
 *    not in strict mode): the rest is not appended;
 *  - appending to the opened journal and opening it again loads one more
 *    record and finds no torn end (the damaged bytes are still skipped);
 *  - each of a few allocations made to fail gives MF_ENOMEM with a
 *    message (or MF_OK), leaks nothing and leaves the file alone.
 */
#define _POSIX_C_SOURCE 200809L
#include "alloc.h"
#include "fuzz_common.h"
#include "journal.h"
#include "mpifutures.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int fz_verdict = -1;

/* ---- reference MurmurHash3 x64-128 (64-bit seed) ------------------------
 */

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static void murmur3(const uint8_t *p, size_t len, uint64_t seed,
                    uint64_t out[2])
{
    const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
    uint64_t h1 = seed, h2 = seed, k1, k2;
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        k1 = fz_get64(p + i);
        k2 = fz_get64(p + i + 8);
        h1 ^= rotl(k1 * c1, 31) * c2;
        h1 = (rotl(h1, 27) + h2) * 5 + 0x52dce729;
        h2 ^= rotl(k2 * c2, 33) * c1;
        h2 = (rotl(h2, 31) + h1) * 5 + 0x38495ab5;
    }
    k1 = k2 = 0;
    switch (len & 15) {
    case 15:
        k2 ^= (uint64_t)p[i + 14] << 48; /* fall through */
    case 14:
        k2 ^= (uint64_t)p[i + 13] << 40; /* fall through */
    case 13:
        k2 ^= (uint64_t)p[i + 12] << 32; /* fall through */
    case 12:
        k2 ^= (uint64_t)p[i + 11] << 24; /* fall through */
    case 11:
        k2 ^= (uint64_t)p[i + 10] << 16; /* fall through */
    case 10:
        k2 ^= (uint64_t)p[i + 9] << 8; /* fall through */
    case 9:
        k2 ^= (uint64_t)p[i + 8];
        h2 ^= rotl(k2 * c2, 33) * c1;
        /* fall through */
    case 8:
        k1 ^= (uint64_t)p[i + 7] << 56; /* fall through */
    case 7:
        k1 ^= (uint64_t)p[i + 6] << 48; /* fall through */
    case 6:
        k1 ^= (uint64_t)p[i + 5] << 40; /* fall through */
    case 5:
        k1 ^= (uint64_t)p[i + 4] << 32; /* fall through */
    case 4:
        k1 ^= (uint64_t)p[i + 3] << 24; /* fall through */
    case 3:
        k1 ^= (uint64_t)p[i + 2] << 16; /* fall through */
    case 2:
        k1 ^= (uint64_t)p[i + 1] << 8; /* fall through */
    case 1:
        k1 ^= (uint64_t)p[i];
        h1 ^= rotl(k1 * c1, 31) * c2;
        break;
    default:
        break;
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

/* ---- reference reader ------------------------------------------------- */

#define J_HDR 24
#define J_FIXED 40
#define J_SUM_SEED 0x243f6a8885a308d3ull /* journal.c's record checksum */

typedef struct jrec {
    size_t off; /* of the record in the input */
    uint64_t fn, d[2];
    uint32_t status, reason;
    const uint8_t *bytes;
    size_t len;
    int replay; /* a result or the task's own failure */
} jrec;

/* From journal.c's comment: results (status 0) and the task's own
 * failures (status 1) with reason 0, not those of resources. */
static int ref_replayable(uint32_t status, uint32_t reason,
                          const uint8_t *bytes, size_t len)
{
    if (reason != 0 || status > 1)
        return 0;
    if (status == 1 &&
        ((len >= 13 && !memcmp(bytes, "out of memory", 13)) ||
         (len >= 23 && !memcmp(bytes, "cannot isolate the task", 23))))
        return 0;
    return 1;
}

/* The size of a whole record with a right checksum at off, else 0. */
static size_t ref_record(const uint8_t *b, size_t len, size_t off)
{
    if (len - off < 16)
        return 0;
    uint32_t blen = fz_get32(b + off + 4);
    uint64_t sum[2];
    if (fz_get32(b + off) != 0x524a464du || blen < J_FIXED ||
        blen > (1u << 31) || len - off - 16 < (size_t)blen)
        return 0;
    murmur3(b + off, 8 + (size_t)blen, J_SUM_SEED, sum);
    if (sum[0] != fz_get64(b + off + 8 + blen) ||
        fz_get64(b + off + 8 + 32) != blen - J_FIXED)
        return 0;
    return 16 + (size_t)blen;
}

/* Returns the expected code; fills the good records, the end of the last
 * one, the bytes skipped before it and in how many separate stretches. */
static int ref_read(const uint8_t *b, size_t len, jrec **recs, size_t *n,
                    size_t *good, size_t *skipped, size_t *stretches)
{
    *recs = NULL;
    *n = 0;
    *good = 0;
    *skipped = 0;
    *stretches = 0;
    if (len == 0)
        return MF_OK;
    if (len < J_HDR || memcmp(b, "MFJOURN1", 8) != 0 || fz_get32(b + 8) != 1)
        return MF_EINVAL;
    if (fz_get64(b + 16) != FZ_JOURNAL_DIGEST)
        return MF_EMISMATCH;
    size_t off = J_HDR, cap = 0;
    *good = off;
    while (off < len) {
        size_t rl = ref_record(b, len, off);
        if (!rl) {
            size_t next = off + 1;
            while (next < len && !ref_record(b, len, next))
                next++;
            if (next >= len)
                break; /* a torn end */
            *skipped += next - off;
            (*stretches)++;
            off = next;
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            jrec *nr = realloc(*recs, cap * sizeof *nr);
            FZ_CHECK(nr != NULL, "out of memory");
            *recs = nr;
        }
        const uint8_t *body = b + off + 8;
        jrec *r = &(*recs)[(*n)++];
        r->off = off;
        r->fn = fz_get64(body);
        r->d[0] = fz_get64(body + 8);
        r->d[1] = fz_get64(body + 16);
        r->status = fz_get32(body + 24);
        r->reason = fz_get32(body + 28);
        r->bytes = body + J_FIXED;
        r->len = rl - 16 - J_FIXED;
        r->replay = ref_replayable(r->status, r->reason, r->bytes, r->len);
        off += rl;
        *good = off;
    }
    return MF_OK;
}

/* ---- files ---------------------------------------------------------- */

static char g_dir[512], g_a[600], g_b[600];

/* A fresh private directory per input, removed at its end (libFuzzer
 * does not always run atexit handlers; a failed check leaves it). */
static void make_dir(void)
{
    /* $TMPDIR, else /dev/shm (a disk file system is ~20x slower here:
     * several opens and writes per input), else /tmp. */
    const char *t = getenv("TMPDIR");
    if (!t || !*t)
        t = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/mf-fuzz-journal.XXXXXX", t);
    FZ_CHECK(mkdtemp(g_dir) != NULL, "mkdtemp %s: %s", g_dir,
             strerror(errno));
    snprintf(g_a, sizeof g_a, "%s/a", g_dir);
    snprintf(g_b, sizeof g_b, "%s/b", g_dir);
}

static void remove_dir(void)
{
    unlink(g_a);
    unlink(g_b);
    rmdir(g_dir);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL, "%s: %s", path, strerror(errno));
    FZ_CHECK(n == 0 || fwrite(p, 1, n, f) == n, "%s: write", path);
    FZ_CHECK(fclose(f) == 0, "%s: close", path);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    FZ_CHECK(f && fstat(fileno(f), &st) == 0, "%s: %s", path,
             strerror(errno));
    *n = (size_t)st.st_size;
    uint8_t *p = malloc(*n ? *n : 1);
    FZ_CHECK(p != NULL, "out of memory");
    FZ_CHECK(fread(p, 1, *n, f) == *n, "%s: read", path);
    fclose(f);
    return p;
}

static void same_file(const char *path, const uint8_t *want, size_t n,
                      const char *what)
{
    size_t got = 0;
    uint8_t *p = read_file(path, &got);
    FZ_CHECK(got == n && memcmp(p, want, n) == 0,
             "%s: the file has %zu bytes, expected %zu%s", what, got, n,
             got == n ? " (contents differ)" : "");
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512];
    mf_journal *j = NULL;
    uint64_t h[2], r[2];

    make_dir();

    /* The checksum function against the reference. */
    mf__hash128(data, size, J_SUM_SEED, h);
    murmur3(data, size, J_SUM_SEED, r);
    FZ_CHECK(h[0] == r[0] && h[1] == r[1], "mf__hash128 differs from "
                                           "MurmurHash3 x64-128");

    jrec *recs;
    size_t n, good, skipped, stretches, nrep = 0;
    int want = ref_read(data, size, &recs, &n, &good, &skipped, &stretches);
    for (size_t i = 0; i < n; i++)
        nrep += recs[i].replay;

    write_file(g_a, data, size);
    msg[0] = '\0';
    int rc = mf__journal_open(g_a, FZ_JOURNAL_DIGEST, &j, msg, sizeof msg);
    FZ_CHECK(rc == want, "mf__journal_open: %s, expected %s (%s)",
             mf_errname(rc), mf_errname(want), msg);
    fz_verdict = rc != MF_OK ? 0 : good == size && !skipped ? 1 : -1;
    if (rc != MF_OK) {
        FZ_CHECK(j == NULL && msg[0], "error without a message or with a "
                                      "journal");
        same_file(g_a, data, size, "refused journal");
        free(recs);
        remove_dir();
        return 0;
    }
    FZ_CHECK(j != NULL, "MF_OK without a journal");
    if (fz_strict() && size >= J_HDR)
        FZ_CHECK(fz_get32(data + 12) == 0,
                 "strict: journal header's reserved word 0x%08x accepted",
                 fz_get32(data + 12));

    size_t loaded = 7, reused = 7, torn = 7, damaged = 7, stale = 7;
    size_t want_torn = size ? skipped + size - good : 0;
    mf__journal_counts(j, &loaded, &reused, &torn);
    mf__journal_skipped(j, &damaged, &stale);
    FZ_CHECK(loaded == nrep && reused == 0 && torn == want_torn,
             "counts: loaded %zu torn %zu, expected %zu and %zu", loaded,
             torn, nrep, want_torn);
    /* Each separate stretch of skipped bytes counts as at least one
     * damaged record, and as no more records than its bytes can hold
     * (16 bytes of header each) plus one. */
    FZ_CHECK(stale == n - nrep && damaged >= stretches &&
                 damaged <= stretches + skipped / 16,
             "skipped: %zu damaged, %zu stale; expected %zu stale and "
             "%zu bytes skipped in %zu stretches",
             damaged, stale, n - nrep, skipped, stretches);
    if (size == 0) {
        uint8_t hdr[J_HDR] = {0};
        uint32_t ver = 1;
        uint64_t dig = FZ_JOURNAL_DIGEST;
        memcpy(hdr, "MFJOURN1", 8);
        memcpy(hdr + 8, &ver, 4);
        memcpy(hdr + 16, &dig, 8);
        same_file(g_a, hdr, J_HDR, "new journal");
    } else {
        same_file(g_a, data, good, "journal cut back to its good prefix");
    }

    /* Lookups: the first replayable record of each key wins; a key with
     * none is not found. */
    for (size_t i = 0; i < n; i++) {
        const jrec *first = NULL;
        for (size_t k = 0; k < n && !first; k++)
            if (recs[k].replay && recs[k].fn == recs[i].fn &&
                recs[k].d[0] == recs[i].d[0] && recs[k].d[1] == recs[i].d[1])
                first = &recs[k];
        uint32_t st = 7, rs = 7;
        const void *bytes = NULL;
        size_t len = 7;
        int found = mf__journal_find(j, recs[i].fn, recs[i].d, &st, &rs,
                                     &bytes, &len);
        FZ_CHECK(found == (first != NULL), "record %zu: found %d", i, found);
        if (!first)
            continue;
        FZ_CHECK(st == first->status && rs == first->reason &&
                     len == first->len && bytes != NULL &&
                     (len == 0 || memcmp(bytes, first->bytes, len) == 0),
                 "record %zu: found another outcome", i);
    }
    {
        uint64_t d[2] = {0x1234, 0x5678}, fn = 0xfeedfacecafebeefull;
        int in_file = 0;
        for (size_t i = 0; i < n; i++)
            in_file |= recs[i].replay && recs[i].fn == fn &&
                       recs[i].d[0] == d[0] && recs[i].d[1] == d[1];
        uint32_t st, rs;
        const void *bytes;
        size_t len;
        FZ_CHECK(mf__journal_find(j, fn, d, &st, &rs, &bytes, &len) ==
                     in_file,
                 "lookup of an absent key");
    }

    /* Append one more, then reopen: one more record, no torn end. */
    {
        uint64_t d[2] = {size, good};
        rc = mf__journal_append(j, 42, d, 0, 0, "appended", 8);
        FZ_CHECK(rc == MF_OK, "append: %s", mf_errname(rc));
        mf__journal_close(j);
        j = NULL;
        rc = mf__journal_open(g_a, FZ_JOURNAL_DIGEST, &j, msg, sizeof msg);
        FZ_CHECK(rc == MF_OK, "reopen: %s (%s)", mf_errname(rc), msg);
        mf__journal_counts(j, &loaded, &reused, &torn);
        FZ_CHECK(loaded == nrep + 1 && torn == skipped,
                 "reopened: loaded %zu torn %zu, expected %zu and %zu",
                 loaded, torn, nrep + 1, skipped);
        mf__journal_close(j);
        j = NULL;
    }

    /* Round trip: the good records, appended to a new journal. */
    unlink(g_b);
    rc = mf__journal_open(g_b, FZ_JOURNAL_DIGEST, &j, msg, sizeof msg);
    FZ_CHECK(rc == MF_OK, "new journal: %s (%s)", mf_errname(rc), msg);
    for (size_t i = 0; i < n; i++) {
        rc = mf__journal_append(j, recs[i].fn, recs[i].d, recs[i].status,
                                recs[i].reason, recs[i].bytes, recs[i].len);
        FZ_CHECK(rc == MF_OK, "append %zu: %s", i, mf_errname(rc));
    }
    mf__journal_close(j);
    j = NULL;
    if (size) {
        uint8_t *want_bytes = malloc(good);
        size_t wn = J_HDR;
        FZ_CHECK(want_bytes != NULL, "out of memory");
        memcpy(want_bytes, data, J_HDR);
        memset(want_bytes + 12, 0, 4); /* reserved word */
        for (size_t i = 0; i < n; i++)
            if (recs[i].replay) {
                size_t rl = 16 + J_FIXED + recs[i].len;
                memcpy(want_bytes + wn, data + recs[i].off, rl);
                wn += rl;
            }
        same_file(g_b, want_bytes, wn, "journal written again");
        free(want_bytes);
    }

    /* Out of memory at a few allocations. */
    if (size) {
        unsigned long ks[4] = {1, 2, 3, 4 + size % 13};
        for (int i = 0; i < 4; i++) {
            write_file(g_a, data, size);
            msg[0] = '\0';
            mf__alloc_fail_after(ks[i]);
            rc =
                mf__journal_open(g_a, FZ_JOURNAL_DIGEST, &j, msg, sizeof msg);
            mf__alloc_fail_after(0);
            if (rc == MF_OK) {
                mf__journal_close(j);
                j = NULL;
                continue;
            }
            FZ_CHECK(rc == MF_ENOMEM && j == NULL && msg[0],
                     "allocation %lu failed: %s (%s)", ks[i], mf_errname(rc),
                     msg);
            same_file(g_a, data, size, "journal after MF_ENOMEM");
        }
    }
    free(recs);
    remove_dir();
    return 0;
}
