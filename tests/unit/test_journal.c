/* Unit tests of journal.c: what is replayed (results and the task's own
 * failures, never timeouts, crashes or resource failures), a damaged
 * record in the middle (skipped, the rest kept, the file not cut), and
 * the lock that refuses a second writer of one journal file. */
#include "cu_main.h"
#include "journal.h"
#include "mpifutures.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIGEST 0x0123456789abcdefull   /* a registry digest */
#define REC_SEED 0x243f6a8885a308d3ull /* journal.c's record checksum */
#define NREC 47

static char g_dir[256], g_path[300];

static int suite_init(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/mf-test-journal.XXXXXX",
             t && *t ? t : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_path, sizeof g_path, "%s/j", g_dir);
    return 0;
}

static int suite_clean(void)
{
    unlink(g_path);
    rmdir(g_dir);
    return 0;
}

static mf_journal *jopen(int *rc, char *msg, size_t msglen)
{
    mf_journal *j = NULL;
    msg[0] = '\0';
    *rc = mf__journal_open(g_path, DIGEST, &j, msg, msglen);
    return j;
}

static void key_of(int i, uint64_t d[2])
{
    char a[32];
    snprintf(a, sizeof a, "arg-%d", i);
    mf__journal_digest(a, strlen(a), d);
}

static unsigned char *slurp(size_t *n)
{
    struct stat st;
    int fd = open(g_path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *p = malloc((size_t)st.st_size + 1);
    *n = p ? (size_t)pread(fd, p, (size_t)st.st_size, 0) : 0;
    close(fd);
    return p;
}

static void spill(const unsigned char *p, size_t n)
{
    int fd = open(g_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(mf__write_all(fd, p, n) == 0);
    close(fd);
}

/* A journal of NREC results: record i is cube(i) under key arg-i, all of
 * them the same size (8 + 40 + 8 + 8 = 64 bytes), after a 24-byte
 * header. */
#define REC_SIZE 64
#define HDR 24
static void write_results(void)
{
    char msg[256];
    int rc;
    unlink(g_path);
    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_FATAL(rc == MF_OK && j);
    for (int i = 0; i < NREC; i++) {
        uint64_t d[2], v = (uint64_t)i * i * i;
        key_of(i, d);
        CU_ASSERT(mf__journal_append(j, 7, d, MF_RS_OK, 0, &v, 8) == MF_OK);
    }
    mf__journal_close(j);
}

/* How many of the NREC results are found, with the right value. */
static int found_results(mf_journal *j)
{
    int n = 0;
    for (int i = 0; i < NREC; i++) {
        uint64_t d[2], v;
        uint32_t st, rs;
        const void *b;
        size_t len;
        key_of(i, d);
        if (mf__journal_find(j, 7, d, &st, &rs, &b, &len) && st == MF_RS_OK &&
            len == 8) {
            memcpy(&v, b, 8);
            n += v == (uint64_t)i * i * i;
        }
    }
    return n;
}

/* A record written byte by byte (as an older library wrote them). */
static size_t raw_record(unsigned char *r, uint64_t fn, const uint64_t d[2],
                         uint32_t status, uint32_t reason, const char *bytes)
{
    uint32_t magic = 0x524a464du, blen = 40 + (uint32_t)strlen(bytes);
    uint64_t l = strlen(bytes), sum[2];
    memcpy(r, &magic, 4);
    memcpy(r + 4, &blen, 4);
    memcpy(r + 8, &fn, 8);
    memcpy(r + 16, &d[0], 8);
    memcpy(r + 24, &d[1], 8);
    memcpy(r + 32, &status, 4);
    memcpy(r + 36, &reason, 4);
    memcpy(r + 40, &l, 8);
    memcpy(r + 48, bytes, l);
    mf__hash128(r, 8 + blen, REC_SEED, sum);
    memcpy(r + 8 + blen, &sum[0], 8);
    return 16 + blen;
}

/* ---- item 12: what is replayed ------------------------------------- */

/* An old journal holding a timeout, a crash, a worker's out-of-memory
 * failure and the task's own failure, then a result for the timed-out
 * key: it loads; only the task's failure and the result are found. */
static void test_old_journal_nonreplayable_skipped(void)
{
    unsigned char buf[4096];
    size_t n = 0;
    uint64_t dt[2], dc[2], dm[2], df[2], dx[2];
    char msg[256];
    int rc;
    key_of(1, dt);
    key_of(2, dc);
    key_of(3, dm);
    key_of(4, df);
    key_of(5, dx);
    {
        uint32_t ver = 1;
        uint64_t dig = DIGEST;
        memset(buf, 0, HDR);
        memcpy(buf, "MFJOURN1", 8);
        memcpy(buf + 8, &ver, 4);
        memcpy(buf + 16, &dig, 8);
        n = HDR;
    }
    n += raw_record(buf + n, 7, dt, MF_RS_TIMEOUT, 0,
                    "task timed out after 1.000 s; killed");
    n += raw_record(buf + n, 7, dc, MF_RS_CRASHED, 0,
                    "killed by signal 11 (SIGSEGV)");
    n += raw_record(buf + n, 7, dm, MF_RS_FAILED, 0,
                    "out of memory for an isolated result");
    n += raw_record(buf + n, 7, df, MF_RS_FAILED, 0, "bad argument");
    n += raw_record(buf + n, 7, dx, 9, 0, "a status from the future");
    n += raw_record(buf + n, 7, dt, MF_RS_OK, 0, "42");
    spill(buf, n);

    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OK);
    uint32_t st = 99, rs = 99;
    const void *b = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(mf__journal_find(j, 7, dc, &st, &rs, &b, &len), 0);
    CU_ASSERT_EQUAL(mf__journal_find(j, 7, dm, &st, &rs, &b, &len), 0);
    CU_ASSERT_EQUAL(mf__journal_find(j, 7, dx, &st, &rs, &b, &len), 0);
    CU_ASSERT_EQUAL(mf__journal_find(j, 7, df, &st, &rs, &b, &len), 1);
    CU_ASSERT(st == MF_RS_FAILED && len == 12 &&
              memcmp(b, "bad argument", 12) == 0);
    /* The timed-out key: its later result, not the timeout. */
    CU_ASSERT_EQUAL(mf__journal_find(j, 7, dt, &st, &rs, &b, &len), 1);
    CU_ASSERT(st == MF_RS_OK && len == 2 && memcmp(b, "42", 2) == 0);
    size_t loaded, reused, torn, damaged, stale;
    mf__journal_counts(j, &loaded, &reused, &torn);
    mf__journal_skipped(j, &damaged, &stale);
    CU_ASSERT_EQUAL(loaded, 2);
    CU_ASSERT_EQUAL(reused, 2);
    CU_ASSERT_EQUAL(torn, 0);
    CU_ASSERT_EQUAL(damaged, 0);
    CU_ASSERT_EQUAL(stale, 4);
    mf__journal_close(j);
    /* The file is left as it was (an old journal is not rewritten). */
    size_t m = 0;
    unsigned char *p = slurp(&m);
    CU_ASSERT(p && m == n && memcmp(p, buf, n) == 0);
    free(p);
}

/* A timeout or a crash appended now is not written; a result and the
 * task's own failure are. */
static void test_append_skips_nonreplayable(void)
{
    char msg[256];
    int rc;
    uint64_t d[2];
    unlink(g_path);
    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_FATAL(rc == MF_OK && j);
    key_of(1, d);
    CU_ASSERT_EQUAL(mf__journal_append(j, 7, d, MF_RS_TIMEOUT, 0, "t", 1),
                    MF_OK);
    key_of(2, d);
    CU_ASSERT_EQUAL(mf__journal_append(j, 7, d, MF_RS_CRASHED, 0, "c", 1),
                    MF_OK);
    key_of(3, d);
    CU_ASSERT_EQUAL(mf__journal_append(j, 7, d, MF_RS_FAILED, 0,
                                       "out of memory running a chunk", 29),
                    MF_OK);
    key_of(4, d);
    CU_ASSERT_EQUAL(mf__journal_append(j, 7, d, MF_RS_FAILED, 0, "boom", 4),
                    MF_OK);
    key_of(5, d);
    CU_ASSERT_EQUAL(mf__journal_append(j, 7, d, MF_RS_OK, 0, "ok", 2), MF_OK);
    mf__journal_close(j);
    struct stat s;
    CU_ASSERT(stat(g_path, &s) == 0 &&
              s.st_size == HDR + (16 + 44) + (16 + 42));
    j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_FATAL(rc == MF_OK && j);
    uint32_t st, rs;
    const void *b;
    size_t len;
    for (int i = 1; i <= 5; i++) {
        key_of(i, d);
        CU_ASSERT_EQUAL(mf__journal_find(j, 7, d, &st, &rs, &b, &len),
                        i >= 4);
    }
    mf__journal_close(j);
}

/* ---- item 13: a damaged record in the middle ------------------------ */

/* Damage record 10 (0-based 9) of NREC at byte `at` of the record with
 * `mask`; the other NREC - 1 are found, one record is reported skipped,
 * the file keeps every byte, and a record appended after it is found
 * on the next open. */
static void damaged_case(size_t at, unsigned char mask, int torn_too)
{
    char msg[256];
    int rc;
    size_t n = 0;
    write_results();
    unsigned char *p = slurp(&n);
    CU_ASSERT_FATAL(p && n == HDR + NREC * REC_SIZE);
    p[HDR + 9 * REC_SIZE + at] ^= mask;
    if (torn_too)
        n -= 5; /* and a torn last record */
    spill(p, n);

    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OK);
    size_t loaded, reused, torn, damaged, stale;
    mf__journal_counts(j, &loaded, &reused, &torn);
    mf__journal_skipped(j, &damaged, &stale);
    CU_ASSERT_EQUAL(loaded, NREC - 1 - (size_t)torn_too);
    CU_ASSERT_EQUAL(damaged, 1);
    CU_ASSERT_EQUAL(stale, 0);
    CU_ASSERT_EQUAL(torn, REC_SIZE + (torn_too ? REC_SIZE - 5 : 0));
    CU_ASSERT_EQUAL(found_results(j), NREC - 1 - torn_too);
    /* Appended after the end of the file (a torn end cut off first). */
    uint64_t d[2], v = 46ull * 46 * 46;
    key_of(46, d);
    if (torn_too)
        CU_ASSERT(mf__journal_append(j, 7, d, MF_RS_OK, 0, &v, 8) == MF_OK);
    mf__journal_close(j);

    size_t m = 0;
    unsigned char *q = slurp(&m);
    size_t keep = torn_too ? n - (REC_SIZE - 5) : n;
    CU_ASSERT(q && m == keep + (torn_too ? REC_SIZE : 0) &&
              memcmp(q, p, keep) == 0);
    free(q);

    j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OK);
    mf__journal_counts(j, &loaded, &reused, &torn);
    CU_ASSERT_EQUAL(loaded, NREC - 1);
    CU_ASSERT_EQUAL(torn, REC_SIZE);
    CU_ASSERT_EQUAL(found_results(j), NREC - 1);
    mf__journal_close(j);
    free(p);
}

static void test_damaged_body(void)
{
    damaged_case(50, 0x01, 0); /* a byte of the result */
}

static void test_damaged_checksum(void)
{
    damaged_case(60, 0x80, 0);
}

static void test_damaged_magic(void)
{
    damaged_case(1, 0xff, 0);
}

static void test_damaged_length_field(void)
{
    /* 48 becomes 112: a length that ends inside the next record. */
    damaged_case(4, 0x40, 0);
}

static void test_damaged_length_huge(void)
{
    damaged_case(7, 0x40, 0); /* a length far past the end of the file */
}

static void test_damaged_and_torn(void)
{
    damaged_case(20, 0x04, 1);
}

/* Several damaged records, consecutive and apart: each one counted. */
static void test_damaged_many(void)
{
    char msg[256];
    int rc;
    size_t n = 0;
    write_results();
    unsigned char *p = slurp(&n);
    CU_ASSERT_FATAL(p != NULL);
    p[HDR + 0 * REC_SIZE + 30] ^= 1;
    p[HDR + 20 * REC_SIZE + 30] ^= 1;
    p[HDR + 21 * REC_SIZE + 30] ^= 1;
    p[HDR + 46 * REC_SIZE + 63] ^= 1; /* the last one: a torn end */
    spill(p, n);
    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL_FATAL(rc, MF_OK);
    size_t loaded, reused, torn, damaged, stale;
    mf__journal_counts(j, &loaded, &reused, &torn);
    mf__journal_skipped(j, &damaged, &stale);
    CU_ASSERT_EQUAL(loaded, NREC - 4);
    CU_ASSERT_EQUAL(damaged, 3);
    CU_ASSERT_EQUAL(torn, 4 * REC_SIZE);
    CU_ASSERT_EQUAL(found_results(j), NREC - 4);
    mf__journal_close(j);
    struct stat s;
    CU_ASSERT(stat(g_path, &s) == 0 &&
              (size_t)s.st_size == n - REC_SIZE); /* only the end cut */
    free(p);
}

/* ---- item 14: one writer at a time ---------------------------------- */

static void test_second_writer_refused(void)
{
    char msg[512];
    int rc, rc2;
    write_results();
    mf_journal *j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_FATAL(rc == MF_OK && j);
    mf_journal *k = jopen(&rc2, msg, sizeof msg);
    CU_ASSERT_EQUAL(rc2, MF_EINVAL);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, g_path));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "in use"));
    if (k)
        mf__journal_close(k);
    /* The refused open left the file alone. */
    struct stat s;
    CU_ASSERT(stat(g_path, &s) == 0 && s.st_size == HDR + NREC * REC_SIZE);
    CU_ASSERT_EQUAL(found_results(j), NREC);
    mf__journal_close(j);
    /* Free again once the first is closed. */
    j = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL(rc, MF_OK);
    if (j)
        mf__journal_close(j);
}

/* A child process (another run) holding the journal is refused too. */
static void test_writer_in_other_process_refused(void)
{
    char msg[512];
    int rc, rc2, go[2], ready[2];
    write_results();
    CU_ASSERT_FATAL(pipe(go) == 0 && pipe(ready) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        mf_journal *j = jopen(&rc, msg, sizeof msg);
        char c = rc == MF_OK ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        (void)!read(go[0], &c, 1); /* until the parent is done */
        mf__journal_close(j);
        _exit(0);
    }
    char c = 0;
    CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1 && c == 'y');
    mf_journal *k = jopen(&rc2, msg, sizeof msg);
    CU_ASSERT_EQUAL(rc2, MF_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, g_path));
    if (k)
        mf__journal_close(k);
    (void)!write(go[1], "x", 1);
    int st = 0;
    CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
    k = jopen(&rc, msg, sizeof msg);
    CU_ASSERT_EQUAL(rc, MF_OK);
    if (k)
        mf__journal_close(k);
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("journal", suite_init, suite_clean);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_old_journal_nonreplayable_skipped);
    MF_ADD_TEST(s, test_append_skips_nonreplayable);
    MF_ADD_TEST(s, test_damaged_body);
    MF_ADD_TEST(s, test_damaged_checksum);
    MF_ADD_TEST(s, test_damaged_magic);
    MF_ADD_TEST(s, test_damaged_length_field);
    MF_ADD_TEST(s, test_damaged_length_huge);
    MF_ADD_TEST(s, test_damaged_and_torn);
    MF_ADD_TEST(s, test_damaged_many);
    MF_ADD_TEST(s, test_second_writer_refused);
    MF_ADD_TEST(s, test_writer_in_other_process_refused);
    return 0;
}

int main(void)
{
    return cu_run();
}
