/* journal.c — the resume journal (opts.journal_path / MF_JOURNAL).
 *
 * Every completed task is appended as one record: its function, a 128-bit
 * digest of its argument, its outcome and result (or error message), and
 * a checksum. A later run given the same journal completes a submitted
 * task from it, without running it, when the function and argument
 * digest match (tasks are assumed deterministic). Records are written
 * with one write() each, so a run killed with SIGKILL loses nothing it
 * had received. A journal from a program with another registry is
 * refused.
 *
 * Only what a rerun would give again is replayed: results, and the
 * task's own failures (mf_task_fail, a non-zero return). A timeout, a
 * crash, and a failure for want of resources (the library's "out of
 * memory ..." and "cannot isolate the task ..." messages, or a task's own
 * "out of memory ...") are not appended, and such records in a journal
 * of an older version are skipped at load (counted as stale), so those
 * tasks run again.
 *
 * A record that fails its checksum or its header is skipped: the reader
 * resynchronises on the next offset that holds a whole record with a
 * good checksum, so one damaged record costs that record only (counted,
 * its bytes reported as dropped, a line on stderr). Damaged records stay
 * in the file. Bytes after the last good record (a torn last record: the
 * run was killed mid-write) hold no good record and are cut off; new
 * records are appended after the last good one, i.e. at the end of the
 * file.
 *
 * The file is locked (flock, exclusive, non-blocking) while open: a
 * second run on the same journal is refused rather than interleaving its
 * records with the first one's (where the file system has no locks, the
 * journal is used unlocked).
 *
 *   file    header: "MFJOURN1" | version u32 | 0 u32 | registry digest u64
 *   record  "MFJR" u32 | body length u32 | body | checksum u64
 *   body    fn u64 | digest lo u64 | digest hi u64 | status u32 |
 *           reason u32 | len u64 | bytes
 */

#include "journal.h"

#include "alloc.h"
#include "registry.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MF_J_MAGIC "MFJOURN1"
#define MF_J_VERSION 1u
#define MF_J_HDR 24
#define MF_J_REC_MAGIC 0x524a464du /* "MFJR" */
#define MF_J_BODY_FIXED 40
#define MF_J_MAX_BODY ((uint64_t)1 << 31)

/* ---- hashing: MurmurHash3 x64 128 (Austin Appleby's public-domain
 * algorithm, written afresh here) ---------------------------------- */

static uint64_t mf_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t mf_fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

void mf__hash128(const void *data, size_t len, uint64_t seed, uint64_t out[2])
{
    const unsigned char *p = data;
    const uint64_t c1 = 0x87c37b91114253d5ull, c2 = 0x4cf5ad432745937full;
    uint64_t h1 = seed, h2 = seed;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k1, k2;
        memcpy(&k1, p + 16 * i, 8);
        memcpy(&k2, p + 16 * i + 8, 8);
        k1 *= c1;
        k1 = mf_rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = mf_rotl(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= c2;
        k2 = mf_rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = mf_rotl(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    const unsigned char *tail = p + 16 * nblocks;
    uint64_t k1 = 0, k2 = 0;
    size_t rest = len & 15;
    for (size_t i = rest; i > 8; i--)
        k2 ^= (uint64_t)tail[i - 1] << (8 * (i - 9));
    if (rest > 8) {
        k2 *= c2;
        k2 = mf_rotl(k2, 33);
        k2 *= c1;
        h2 ^= k2;
    }
    for (size_t i = rest > 8 ? 8 : rest; i > 0; i--)
        k1 ^= (uint64_t)tail[i - 1] << (8 * (i - 1));
    if (rest) {
        k1 *= c1;
        k1 = mf_rotl(k1, 31);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = mf_fmix(h1);
    h2 = mf_fmix(h2);
    h1 += h2;
    h2 += h1;
    out[0] = h1;
    out[1] = h2;
}

/* ---- the table of loaded records ---------------------------------- */

typedef struct mf_jent {
    uint64_t fn, d0, d1;
    uint32_t status, reason;
    size_t len;
    unsigned char *bytes;
    int used; /* slot in use */
} mf_jent;

struct mf_journal {
    int fd;
    char *path;
    mf_jent *tab;
    size_t cap, n;
    size_t loaded, reused, torn; /* torn: bytes dropped, see counts */
    size_t damaged, stale;       /* records skipped at open */
};

static size_t mf_jslot(const mf_journal *j, uint64_t fn, uint64_t d0,
                       uint64_t d1)
{
    size_t i = (size_t)((fn ^ d0 ^ (d1 * 31)) & (j->cap - 1));
    while (j->tab[i].used &&
           !(j->tab[i].fn == fn && j->tab[i].d0 == d0 && j->tab[i].d1 == d1))
        i = (i + 1) & (j->cap - 1);
    return i;
}

static int mf_jgrow(mf_journal *j)
{
    size_t cap = j->cap ? 2 * j->cap : 1024;
    mf_jent *old = j->tab;
    size_t oldcap = j->cap;
    j->tab = mf__calloc(cap, sizeof *j->tab);
    if (!j->tab) {
        j->tab = old;
        return MF_ENOMEM;
    }
    j->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used)
            j->tab[mf_jslot(j, old[i].fn, old[i].d0, old[i].d1)] = old[i];
    mf__free(old);
    return MF_OK;
}

uint64_t mf__registry_digest(const mf_reg_snap *s)
{
    uint64_t h = 0x6a09e667f3bcc908ull, d[2];
    for (size_t i = 0; i < s->n; i++) {
        mf__hash128(s->e[i].name, strlen(s->e[i].name), h, d);
        h = d[0] ^ mf_rotl(d[1], 17);
    }
    return h ^ s->n;
}

static uint64_t mf_jsum(const unsigned char *p, size_t n)
{
    uint64_t d[2];
    mf__hash128(p, n, 0x243f6a8885a308d3ull, d);
    return d[0];
}

/* May a record with this outcome be replayed? Results and the task's own
 * failures only: not a timeout, a crash, an abandoned task (reason), nor
 * a failure for want of resources, which a rerun may not meet. */
static int mf_jreplayable(uint32_t status, uint32_t reason,
                          const unsigned char *bytes, size_t len)
{
    static const char *const transient[] = {
        "out of memory",           /* the worker's, or the task's own */
        "cannot isolate the task", /* no process or pipe for it */
    };
    if (reason != MF_FAIL_TASK)
        return 0;
    if (status == MF_RS_OK)
        return 1;
    if (status != MF_RS_FAILED)
        return 0; /* MF_RS_CRASHED, MF_RS_TIMEOUT, or unknown */
    for (size_t i = 0; i < sizeof transient / sizeof *transient; i++) {
        size_t n = strlen(transient[i]);
        if (len >= n && memcmp(bytes, transient[i], n) == 0)
            return 0;
    }
    return 1;
}

/* The header of a record at `off` that fits in [off, end): its body
 * length, else 0. */
static uint32_t mf_jhead(const unsigned char *buf, size_t off, size_t end)
{
    uint32_t magic, blen;
    if (end - off < 16)
        return 0;
    memcpy(&magic, buf + off, 4);
    memcpy(&blen, buf + off + 4, 4);
    if (magic != MF_J_REC_MAGIC || blen < MF_J_BODY_FIXED ||
        blen > MF_J_MAX_BODY || end - off - 16 < (size_t)blen)
        return 0;
    return blen;
}

/* The size of the whole, good record at `off` (header, body and a
 * checksum that holds), else 0. */
static size_t mf_jrecord(const unsigned char *buf, size_t len, size_t off)
{
    uint32_t blen = mf_jhead(buf, off, len);
    uint64_t sum, l;
    if (!blen)
        return 0;
    memcpy(&sum, buf + off + 8 + blen, 8);
    memcpy(&l, buf + off + 8 + 32, 8);
    if (l != blen - MF_J_BODY_FIXED || sum != mf_jsum(buf + off, 8 + blen))
        return 0;
    return 16 + (size_t)blen;
}

/* How many records the damaged bytes [off, end) held: the plausible
 * headers that chain through them, plus each stretch in between long
 * enough to be a record (at least 1). */
static size_t mf_jdamaged(const unsigned char *buf, size_t off, size_t end)
{
    size_t k = 0, stray = 0;
    while (off < end) {
        uint32_t blen = mf_jhead(buf, off, end);
        if (blen) {
            k += 1 + (stray >= 16 + MF_J_BODY_FIXED);
            stray = 0;
            off += 16 + (size_t)blen;
        } else {
            stray++;
            off++;
        }
    }
    k += stray >= 16 + MF_J_BODY_FIXED;
    return k ? k : 1;
}

/* Parse `buf` (the whole file). *good receives the end of the last good
 * record (the header's end if none; 0 for an empty file): what follows
 * it holds no good record. Damaged records before it are skipped and
 * counted. Returns an error for a header that is not ours. */
int mf__journal_parse(mf_journal *j, const unsigned char *buf, size_t len,
                      uint64_t regdigest, size_t *good, char *msg,
                      size_t msglen)
{
    uint32_t ver;
    uint64_t dig;
    *good = 0;
    if (len == 0)
        return MF_OK; /* new journal */
    if (len < MF_J_HDR || memcmp(buf, MF_J_MAGIC, 8) != 0) {
        snprintf(msg, msglen, "%s is not an mpifutures journal", j->path);
        return MF_EINVAL;
    }
    memcpy(&ver, buf + 8, 4);
    memcpy(&dig, buf + 16, 8);
    if (ver != MF_J_VERSION) {
        snprintf(msg, msglen, "journal %s has version %u, expected %u",
                 j->path, ver, MF_J_VERSION);
        return MF_EINVAL;
    }
    if (dig != regdigest) {
        snprintf(msg, msglen,
                 "journal %s was written by a program with "
                 "other registered functions; refusing it (use "
                 "a new journal file)",
                 j->path);
        return MF_EMISMATCH;
    }
    size_t off = MF_J_HDR, dropped = 0;
    *good = off;
    while (off < len) {
        size_t rl = mf_jrecord(buf, len, off);
        if (!rl) {
            /* Damaged, or a torn end: resynchronise on the next good
             * record; none after it means a torn end. */
            size_t next = off + 1;
            while (next < len && !mf_jrecord(buf, len, next))
                next++;
            if (next >= len)
                break;
            j->damaged += mf_jdamaged(buf, off, next);
            dropped += next - off;
            off = next;
            continue;
        }
        const unsigned char *b = buf + off + 8;
        mf_jent e;
        memset(&e, 0, sizeof e);
        memcpy(&e.fn, b, 8);
        memcpy(&e.d0, b + 8, 8);
        memcpy(&e.d1, b + 16, 8);
        memcpy(&e.status, b + 24, 4);
        memcpy(&e.reason, b + 28, 4);
        e.len = rl - 16 - MF_J_BODY_FIXED;
        e.used = 1;
        off += rl;
        *good = off;
        if (!mf_jreplayable(e.status, e.reason, b + MF_J_BODY_FIXED, e.len)) {
            j->stale++; /* it runs again; a later record may hold it */
            continue;
        }
        if ((j->n + 1) * 2 > j->cap && mf_jgrow(j) != MF_OK)
            return MF_ENOMEM;
        size_t slot = mf_jslot(j, e.fn, e.d0, e.d1);
        if (!j->tab[slot].used) {
            e.bytes = mf__malloc(e.len ? e.len : 1);
            if (!e.bytes)
                return MF_ENOMEM;
            memcpy(e.bytes, b + MF_J_BODY_FIXED, e.len);
            j->tab[slot] = e;
            j->n++;
        }
        j->loaded++;
    }
    j->torn = dropped + (len - *good);
    return MF_OK;
}

/* Write all n bytes (short writes and EINTR retried): 0, or -1. */
int mf__write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One writer at a time: before anything is read or cut. A file system
 * without locks (ENOLCK, EOPNOTSUPP, ...) is used unlocked. */
static int mf_journal_lock(int fd, const char *path, char *msg, size_t msglen)
{
    int r;
    while ((r = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (r != 0 && errno == EWOULDBLOCK) {
        snprintf(msg, msglen,
                 "journal %s is in use by another run (locked); two runs "
                 "cannot share a journal: give this one another file, or "
                 "wait for the other to end",
                 path);
        return MF_EINVAL;
    }
    return MF_OK;
}

/* Read the whole file and load its good records; *got bytes read, *good
 * the end of the last good record. */
static int mf_journal_load(mf_journal *j, uint64_t regdigest, size_t *got,
                           size_t *good, char *msg, size_t msglen)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        snprintf(msg, msglen, "cannot open journal %s: %s", j->path,
                 strerror(errno));
        return MF_EINVAL;
    }
    if (st.st_size == 0)
        return MF_OK;
    unsigned char *buf = mf__malloc((size_t)st.st_size);
    if (!buf) {
        snprintf(msg, msglen, "out of memory reading journal %s", j->path);
        return MF_ENOMEM;
    }
    while (*got < (size_t)st.st_size) {
        ssize_t k =
            pread(j->fd, buf + *got, (size_t)st.st_size - *got, (off_t)*got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        *got += (size_t)k;
    }
    int rc = mf__journal_parse(j, buf, *got, regdigest, good, msg, msglen);
    if (rc == MF_ENOMEM)
        snprintf(msg, msglen, "out of memory reading journal %s", j->path);
    mf__free(buf);
    return rc;
}

/* Make the file end at its last good record (a new header if none), and
 * put the write position there. */
static int mf_journal_settle(mf_journal *j, uint64_t regdigest, size_t got,
                             size_t good, char *msg, size_t msglen)
{
    if (good == 0) {
        unsigned char hdr[MF_J_HDR] = {0};
        uint32_t ver = MF_J_VERSION;
        memcpy(hdr, MF_J_MAGIC, 8);
        memcpy(hdr + 8, &ver, 4);
        memcpy(hdr + 16, &regdigest, 8);
        if (ftruncate(j->fd, 0) != 0 ||
            pwrite(j->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
            snprintf(msg, msglen, "cannot write journal %s: %s", j->path,
                     strerror(errno));
            return MF_EINVAL;
        }
        good = MF_J_HDR;
    } else if (got > good && ftruncate(j->fd, (off_t)good) != 0) {
        snprintf(msg, msglen, "cannot cut the torn end of journal %s: %s",
                 j->path, strerror(errno));
        return MF_EINVAL;
    }
    if (lseek(j->fd, (off_t)good, SEEK_SET) < 0) {
        snprintf(msg, msglen, "cannot seek in journal %s", j->path);
        return MF_EINVAL;
    }
    return MF_OK;
}

int mf__journal_open(const char *path, uint64_t regdigest, mf_journal **out,
                     char *msg, size_t msglen)
{
    mf_journal *j = mf__calloc(1, sizeof *j);
    size_t good = 0, got = 0;
    int rc;
    *out = NULL;
    if (!j || !(j->path = mf__strdup(path))) {
        mf__free(j);
        snprintf(msg, msglen, "out of memory opening the journal");
        return MF_ENOMEM;
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        snprintf(msg, msglen, "cannot open journal %s: %s", path,
                 strerror(errno));
        rc = MF_EINVAL;
    } else if ((rc = mf_journal_lock(j->fd, path, msg, msglen)) == MF_OK &&
               (rc = mf_journal_load(j, regdigest, &got, &good, msg,
                                     msglen)) == MF_OK) {
        rc = mf_journal_settle(j, regdigest, got, good, msg, msglen);
    }
    if (rc != MF_OK) {
        mf__journal_close(j);
        return rc;
    }
    if (j->damaged)
        fprintf(stderr,
                "mpifutures: journal %s: skipped %zu damaged record(s) "
                "(%zu bytes: bad checksum or header), kept %zu good "
                "one(s); the damaged ones' tasks run again\n",
                path, j->damaged, j->torn - (got - good), j->loaded);
    *out = j;
    return MF_OK;
}

void mf__journal_close(mf_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (size_t i = 0; i < j->cap; i++)
        if (j->tab[i].used)
            mf__free(j->tab[i].bytes);
    mf__free(j->tab);
    mf__free(j->path);
    mf__free(j);
}

void mf__journal_digest(const void *arg, size_t len, uint64_t d[2])
{
    mf__hash128(arg, len, 0x9e3779b97f4a7c15ull, d);
}

int mf__journal_find(mf_journal *j, uint64_t fn, const uint64_t d[2],
                     uint32_t *status, uint32_t *reason, const void **bytes,
                     size_t *len)
{
    if (!j || !j->cap)
        return 0;
    size_t slot = mf_jslot(j, fn, d[0], d[1]);
    if (!j->tab[slot].used ||
        !mf_jreplayable(j->tab[slot].status, j->tab[slot].reason,
                        j->tab[slot].bytes, j->tab[slot].len))
        return 0;
    *status = j->tab[slot].status;
    *reason = j->tab[slot].reason;
    *bytes = j->tab[slot].bytes;
    *len = j->tab[slot].len;
    j->reused++;
    return 1;
}

int mf__journal_append(mf_journal *j, uint64_t fn, const uint64_t d[2],
                       uint32_t status, uint32_t reason, const void *bytes,
                       size_t len)
{
    size_t blen = MF_J_BODY_FIXED + len;
    if (!mf_jreplayable(status, reason, bytes, len))
        return MF_OK; /* a timeout, a crash...: it must run again */
    if (blen > MF_J_MAX_BODY)
        return MF_E2BIG;
    unsigned char *r = mf__malloc(8 + blen + 8);
    if (!r)
        return MF_ENOMEM;
    uint32_t magic = MF_J_REC_MAGIC, bl = (uint32_t)blen;
    uint64_t l = len;
    memcpy(r, &magic, 4);
    memcpy(r + 4, &bl, 4);
    memcpy(r + 8, &fn, 8);
    memcpy(r + 16, &d[0], 8);
    memcpy(r + 24, &d[1], 8);
    memcpy(r + 32, &status, 4);
    memcpy(r + 36, &reason, 4);
    memcpy(r + 40, &l, 8);
    if (len)
        memcpy(r + 48, bytes, len);
    uint64_t sum = mf_jsum(r, 8 + blen);
    memcpy(r + 8 + blen, &sum, 8);
    int bad = mf__write_all(j->fd, r, 8 + blen + 8);
    mf__free(r);
    return bad ? MF_EINVAL : MF_OK;
}

/* torn: the bytes not loaded, of damaged records and of a torn end. */
void mf__journal_counts(const mf_journal *j, size_t *loaded, size_t *reused,
                        size_t *torn)
{
    *loaded = j ? j->loaded : 0;
    *reused = j ? j->reused : 0;
    *torn = j ? j->torn : 0;
}

void mf__journal_skipped(const mf_journal *j, size_t *damaged, size_t *stale)
{
    *damaged = j ? j->damaged : 0;
    *stale = j ? j->stale : 0;
}
