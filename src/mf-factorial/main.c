/*
 * mf-factorial — factorials of a set of integers, computed asynchronously
 * by the worker ranks of an mpifutures executor, and one huge factorial
 * split over all workers (GMP).
 *
 *     mpirun -n 4 mf-factorial [options] N...
 *
 * Rank 0 parses the command line (and --from input) and tells every rank
 * whether to go on, so bad input ends every rank before any work starts.
 * Then every rank opens an executor on MPI_COMM_WORLD; the workers serve
 * three registered functions:
 *
 *   mf-factorial.chunk  a list of n -> per-n summary records (digits, n! mod
 *                       2^61-1, leading/trailing digits), and the full n!
 *                       values when asked (--print/--out/--check)
 *   mf-factorial.part   part k of K of the prime-exponent split of n!
 *   mf-factorial.mul    the product of two packed integers
 *
 * The root collects chunk results with mf_as_completed and combines the
 * huge parts (see run_huge()).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <mpifutures.h>

#include "factorial_math.h"
#include "mpifutures/gmp.h"

/* Exit codes (documented in --help). */
enum {
    EX_OK = 0,
    EX_USAGE = 2,      /* bad command line or input: nothing was computed */
    EX_RUNTIME = 3,    /* MPI/executor failure, a task failed, I/O error */
    EX_CHECK = 4,      /* --check found a result different from mpz_fac_ui */
    EX_INTERRUPTED = 5 /* a signal (walltime warning) stopped the run */
};

#define LEAD_DIGITS 10
#define REC_WORDS 8 /* n, digits, mod, lead, tail, zeros, ns, rank */
#define REC_BYTES (REC_WORDS * 8)
#define CHUNK_MAGIC 0x4D464331u /* "MFC1" */
#define FLAG_FULL 1u

static int g_rank;

__extension__ typedef unsigned __int128 u128;

/* ---- little-endian words ---------------------------------------------- */

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* CPU time of the calling thread (for MF_FACTORIAL_TRACE). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- options ----------------------------------------------------------- */

typedef struct opts {
    uint64_t *ns;
    size_t count, cap;
    int have_huge;
    uint64_t huge;
    int ordered, print, check, quiet, demo;
    const char *outdir;
    size_t chunk;     /* items per task; 0 = automatic */
    size_t max_lines; /* demo: print only this many result lines */
} opts;

static const char usage_text[] =
    "usage: mpirun -n RANKS mf-factorial [options] [N...]\n"
    "\n"
    "Factorials of a set of integers, computed asynchronously by the worker\n"
    "ranks (rank 0 submits and collects), and one huge factorial split over\n"
    "all workers. Needs at least 2 ranks.\n"
    "\n"
    "  N...                 the integers (any order, repeats allowed, N >= "
    "0)\n"
    "  --range LO:HI:COUNT  COUNT integers spread evenly over [LO, HI]:\n"
    "                       n_i = LO + (i*(HI-LO))/(COUNT-1), i = "
    "0..COUNT-1\n"
    "                       (may be repeated)\n"
    "  --from FILE          one integer per line ('-' = standard input); "
    "blank\n"
    "                       lines are skipped; a bad line, a line longer "
    "than\n"
    "                       4096 bytes and a read error are errors naming "
    "the\n"
    "                       line (exit status 2, nothing computed)\n"
    "  --huge N             one N! split over all workers; prints\n"
    "                       'huge: n=N digits=D checksum=X seconds=S'\n"
    "  --ordered            print results in input order (default: as "
    "completed)\n"
    "  --print              also print each full decimal value\n"
    "  --out DIR            write each n! in decimal to DIR/<n>.txt\n"
    "  --check              verify every result against mpz_fac_ui on rank "
    "0\n"
    "  --quiet              only the summary (and huge) lines\n"
    "  --chunk K            integers per task (default: automatic, by size)\n"
    "  --help, --version\n"
    "\n"
    "Without arguments: a demo (2,064 factorials, then 10,000,000!).\n"
    "A progress bar goes to the terminal (MF_PROGRESS=0 or 1 forces it off\n"
    "or on standard error; the library's own progress line stays off).\n"
    "\n"
    "Executor settings (environment, read when the executor opens; see the\n"
    "README): MF_WINDOW (tasks in flight per worker), MF_MAX_ARG_BYTES,\n"
    "MF_IDLE_SLEEP_US, MF_PROGRESS_THREAD=0|1, MF_SIGNALS=0|1 (on here by\n"
    "default), MF_GRACE_SECONDS, MF_ISOLATE=0|1, MF_TASK_TIMEOUT (seconds),\n"
    "MF_JOURNAL=path (resume journal), MF_STATS=0|1 (per-worker table),\n"
    "MF_PROGRESS_INTERVAL, MF_TRACE=path (Chrome trace timeline).\n"
    "\n"
    "For each integer one line, as results complete:\n"
    "  n=N digits=D lead=FIRST10 tail=LAST9 zeros=Z rank=R ms=T\n"
    "(tail: the 9 digits before the Z trailing zeros of N!). The last line "
    "is\n"
    "always\n"
    "  summary: count=C digits=D checksum=X seconds=S\n"
    "D: sum of the exact decimal digit counts of the N!; X: sum of\n"
    "(N! mod M) mod M, M = 2^61-1; S: wall time from first submit to last\n"
    "result. With a journal (MF_JOURNAL=path), standard error also gets\n"
    "  mf-factorial: journal: R of C integers (T of K tasks) taken from the\n"
    "  journal, not recomputed (L records loaded)\n"
    "R: integers whose results a previous run left in the journal (the "
    "rest\n"
    "were computed now); --huge prints 'journal: R of K tasks of --huge N'.\n"
    "\n"
    "Exit status: 0 success; 2 bad command line or input (nothing "
    "computed);\n"
    "3 runtime failure (MPI, executor, a failed task, output I/O);\n"
    "4 --check found a wrong result; 5 interrupted by SIGTERM, SIGINT or\n"
    "SIGUSR1 (a batch system's walltime warning): queued work is cancelled,\n"
    "running tasks get MF_GRACE_SECONDS (default 10) to finish, the count "
    "of\n"
    "finished integers (those of the grace period included) is printed and "
    "no\n"
    "summary line. A worker rank lost (its process died: the launcher then\n"
    "ends the job, with a SIGTERM under Open MPI) is said as such, and rank "
    "0\n"
    "exits at once with status 3; for workers on other nodes than rank 0 "
    "this\n"
    "cannot be seen, and a SIGTERM is reported with both causes.\n";

static int usage_error(const char *fmt, ...) MF_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mf-factorial: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(try 'mf-factorial --help')\n", stderr);
    va_end(ap);
    return EX_USAGE;
}

static uint64_t phys_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psz <= 0)
        return (uint64_t)8 << 30;
    return (uint64_t)pages * (uint64_t)psz;
}

/* Largest n whose n! takes at most `bytes` bytes. */
static uint64_t max_n_for_bytes(double bytes)
{
    uint64_t lo = 0, hi = (uint64_t)1 << 40;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (mff_fact_bits(mid) / 8.0 <= bytes)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static uint64_t g_max_n, g_max_huge;

static int add_n(opts *o, uint64_t n, const char *where)
{
    if (n > g_max_n)
        return usage_error("%s: %llu is too large: %llu! would not fit in "
                           "memory (%.3g bytes; the limit here is n <= %llu)",
                           where, (unsigned long long)n,
                           (unsigned long long)n, mff_fact_bits(n) / 8,
                           (unsigned long long)g_max_n);
    if (o->count == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 1024;
        if (nc > ((size_t)1 << 27))
            return usage_error("%s: too many integers (at most %zu)", where,
                               (size_t)1 << 27);
        uint64_t *p = realloc(o->ns, nc * sizeof *p);
        if (p == NULL)
            return usage_error("out of memory reading the integers");
        o->ns = p;
        o->cap = nc;
    }
    o->ns[o->count++] = n;
    return EX_OK;
}

/* s is a decimal integer, only too large for mff_parse_u64 (2^64 or more):
 * digits only, with the blanks mff_parse_u64 allows around them. */
static int all_digits(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return 0;
    while (*s >= '0' && *s <= '9')
        s++;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0';
}

/* `s` was refused by mff_parse_u64; `limit` is the largest value `what`
 * accepts (said when s is a number that is only too large). */
static int bad_number(const char *what, const char *s, uint64_t limit)
{
    if (s[0] == '-' && s[1] >= '0' && s[1] <= '9')
        return usage_error("%s: negative integer '%.60s' (n! needs n >= 0)",
                           what, s);
    if (all_digits(s))
        return usage_error("%s: '%.60s' is too large (the limit here is "
                           "%llu)",
                           what, s, (unsigned long long)limit);
    return usage_error("%s: '%.60s' is not a non-negative decimal integer",
                       what, s);
}

static int parse_range(opts *o, const char *s)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return usage_error("--range: argument too long");
    strcpy(buf, s);
    char *a = buf, *b = strchr(a, ':');
    char *c = b ? strchr(b + 1, ':') : NULL;
    if (b == NULL || c == NULL)
        return usage_error("--range '%s': expected LO:HI:COUNT", s);
    *b++ = '\0';
    *c++ = '\0';
    uint64_t lo, hi, cnt;
    if (mff_parse_u64(a, &lo) != 0)
        return bad_number("--range LO", a, g_max_n);
    if (mff_parse_u64(b, &hi) != 0)
        return bad_number("--range HI", b, g_max_n);
    if (mff_parse_u64(c, &cnt) != 0)
        return bad_number("--range COUNT", c, (uint64_t)1 << 27);
    if (hi < lo)
        return usage_error("--range '%s': HI < LO", s);
    if (cnt == 0)
        return usage_error("--range '%s': COUNT must be at least 1", s);
    if (cnt > ((uint64_t)1 << 27))
        return usage_error("--range '%s': COUNT too large", s);
    if (hi > g_max_n)
        return add_n(o, hi, "--range"); /* reports the limit */
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t n = cnt == 1
                         ? lo
                         : lo + (uint64_t)(((u128)i * (hi - lo)) / (cnt - 1));
        int rc = add_n(o, n, "--range");
        if (rc)
            return rc;
    }
    return EX_OK;
}

/* Longest --from line accepted, in bytes (without its newline). An
 * integer takes at most 20 digits; the rest is room for blanks. */
#define FROM_LINE_MAX 4096

static int parse_file(opts *o, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return usage_error("--from %s: %s", path, strerror(errno));
    /* A fixed buffer, read byte by byte: no line can make rank 0 grow
     * (--from /dev/zero), and no allocation can fail half-way through the
     * input and pass for its end. */
    char line[FROM_LINE_MAX + 1];
    unsigned long lineno = 0;
    int rc = EX_OK;
    for (;;) {
        size_t len = 0;
        int c, nul = 0, too_long = 0;
        errno = 0;
        while ((c = getc_unlocked(f)) != EOF && c != '\n') {
            if (c == '\0') {
                nul = 1;
                break;
            }
            if (len == FROM_LINE_MAX) {
                too_long = 1;
                break;
            }
            line[len++] = (char)c;
        }
        if (c == EOF && ferror(f)) {
            int err = errno ? errno : EIO;
            rc = usage_error("--from %s: read error in line %lu: %s "
                             "(nothing computed)",
                             path, lineno + 1, strerror(err));
            break;
        }
        if (c == EOF && len == 0)
            break; /* end of input */
        lineno++;
        if (nul) {
            rc = usage_error("%s:%lu: NUL byte in line", path, lineno);
            break;
        }
        if (too_long) {
            rc = usage_error("%s:%lu: line longer than %d bytes (the limit "
                             "for --from lines)",
                             path, lineno, FROM_LINE_MAX);
            break;
        }
        line[len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '\0')
            continue; /* blank line */
        char where[300];
        snprintf(where, sizeof where, "%.200s:%lu", path, lineno);
        uint64_t n;
        if (mff_parse_u64(line, &n) != 0) {
            line[strcspn(line, "\r")] = '\0';
            if (all_digits(line))
                rc = bad_number(where, line, g_max_n);
            else
                rc = usage_error(
                    "%s: '%.60s' is not a non-negative decimal integer",
                    where, line);
            break;
        }
        if ((rc = add_n(o, n, where)) != 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Returns EX_OK to run, -1 for "exit 0 now" (help/version), or an error. */
static int parse_args(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    if (argc <= 1) {
        o->demo = 1;
        int rc = parse_range(o, "1000:20000:2000");
        if (rc == EX_OK)
            rc = parse_range(o, "50000:200000:64");
        o->have_huge = 1;
        o->huge = 10000000;
        o->max_lines = 12;
        return rc;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define NEEDS_VALUE(name)                                                    \
    do {                                                                     \
        if (i + 1 >= argc)                                                   \
            return usage_error("%s needs a value", name);                    \
        val = argv[++i];                                                     \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return -1;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("mf-factorial (mpifutures) %s, GMP %s\n", mf_version(),
                   gmp_version);
            return -1;
        } else if (strcmp(a, "--range") == 0) {
            NEEDS_VALUE("--range");
            int rc = parse_range(o, val);
            if (rc)
                return rc;
        } else if (strcmp(a, "--from") == 0) {
            NEEDS_VALUE("--from");
            int rc = parse_file(o, val);
            if (rc)
                return rc;
        } else if (strcmp(a, "--huge") == 0) {
            NEEDS_VALUE("--huge");
            uint64_t n;
            if (mff_parse_u64(val, &n) != 0)
                return bad_number("--huge", val, g_max_huge);
            if (n > g_max_huge)
                return usage_error(
                    "--huge %llu: the result would not fit in memory "
                    "(%.3g bytes; the limit here is N <= %llu)",
                    (unsigned long long)n, mff_fact_bits(n) / 8,
                    (unsigned long long)g_max_huge);
            if (o->have_huge)
                return usage_error("--huge given twice");
            o->have_huge = 1;
            o->huge = n;
        } else if (strcmp(a, "--chunk") == 0) {
            NEEDS_VALUE("--chunk");
            uint64_t k;
            if (mff_parse_u64(val, &k) != 0 || k == 0 || k > 1000000)
                return usage_error(
                    "--chunk '%s': expected an integer in 1..1000000", val);
            o->chunk = (size_t)k;
        } else if (strcmp(a, "--out") == 0) {
            NEEDS_VALUE("--out");
            if (val[0] == '\0')
                return usage_error("--out: empty directory name");
            if (mkdir(val, 0777) != 0 && errno != EEXIST)
                return usage_error("--out %s: %s", val, strerror(errno));
            struct stat st;
            if (stat(val, &st) != 0 || !S_ISDIR(st.st_mode))
                return usage_error("--out %s: not a directory", val);
            if (access(val, W_OK) != 0)
                return usage_error("--out %s: not writable", val);
            o->outdir = val;
        } else if (strcmp(a, "--ordered") == 0) {
            o->ordered = 1;
        } else if (strcmp(a, "--print") == 0) {
            o->print = 1;
        } else if (strcmp(a, "--check") == 0) {
            o->check = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
            return usage_error("unknown option '%s'", a);
        } else {
            uint64_t n;
            if (mff_parse_u64(a, &n) != 0)
                return bad_number("argument", a, g_max_n);
            int rc = add_n(o, n, "argument");
            if (rc)
                return rc;
        }
#undef NEEDS_VALUE
    }
    if (o->count == 0 && !o->have_huge)
        return usage_error(
            "no integers given (N..., --range, --from or --huge)");
    return EX_OK;
}

/* ---- worker side: task functions -------------------------------------- */

/* An environment variable as a number (test hooks; -1 if unset). */
static long env_long(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return -1;
    return strtol(v, NULL, 10);
}

static int task_chunk(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    if (len < 16 || get64(a) >> 32 != CHUNK_MAGIC)
        return mf_task_fail(task, "chunk: malformed argument (%zu bytes)",
                            len);
    uint32_t flags = (uint32_t)get64(a);
    uint64_t cnt = get64(a + 8);
    if (cnt == 0 || cnt > (len - 16) / 8 || len != 16 + cnt * 8)
        return mf_task_fail(
            task, "chunk: malformed argument (count %llu, %zu bytes)",
            (unsigned long long)cnt, len);
    int full = (flags & FLAG_FULL) != 0;
    unsigned char *recs = malloc((size_t)cnt * REC_BYTES);
    mpz_t *vals = full ? malloc((size_t)cnt * sizeof *vals) : NULL;
    if (recs == NULL || (full && vals == NULL)) {
        free(recs);
        free(vals);
        return mf_task_fail(task, "chunk: out of memory");
    }
    mpz_t z;
    mpz_init(z);
    size_t total = (size_t)cnt * REC_BYTES;
    long kill_at = env_long("MF_FACTORIAL_TEST_KILL_AT");
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t n = get64(a + 16 + 8 * i);
        /* Test hook: this worker is killed (kill -9) when it reaches n. */
        if (kill_at >= 0 && (uint64_t)kill_at == n)
            kill(getpid(), SIGKILL);
        double t0 = now();
        mpz_fac_ui(z, (unsigned long)n);
        uint64_t d = mff_digits(z);
        uint64_t w[REC_WORDS] = {n,
                                 d,
                                 mff_mod_m(z),
                                 mff_leading(z, d, LEAD_DIGITS),
                                 mff_fact_tail9(n, z),
                                 mff_fact_zeros(n),
                                 0,
                                 (uint64_t)g_rank};
        w[6] = (uint64_t)((now() - t0) * 1e9);
        for (int k = 0; k < REC_WORDS; k++)
            put64(recs + i * REC_BYTES + 8 * k, w[k]);
        if (full) {
            mpz_init(vals[i]);
            mpz_swap(vals[i], z);
            total += mf_mpz_packed_size(vals[i]);
        }
    }
    mpz_clear(z);
    void *out = NULL;
    int rc = mf_task_result_buffer(task, total, &out);
    if (rc == MF_OK) {
        unsigned char *p = out;
        memcpy(p, recs, (size_t)cnt * REC_BYTES);
        p += cnt * REC_BYTES;
        for (uint64_t i = 0; full && i < cnt; i++) {
            size_t w = 0;
            mf_mpz_pack(vals[i], p,
                        total - (size_t)(p - (unsigned char *)out), &w);
            p += w;
        }
    }
    if (full)
        for (uint64_t i = 0; i < cnt; i++)
            mpz_clear(vals[i]);
    free(vals);
    free(recs);
    if (rc != MF_OK)
        return mf_task_fail(task, "chunk: result buffer: %s",
                            mf_strerror(rc));
    return 0;
}

static int task_part(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    if (len != 16)
        return mf_task_fail(task, "part: malformed argument (%zu bytes)",
                            len);
    uint64_t n = get64(a), kk = get64(a + 8);
    unsigned k = (unsigned)(kk & 0xFFFFFFFFu), K = (unsigned)(kk >> 32);
    if (K == 0 || k >= K)
        return mf_task_fail(task, "part: bad part %u of %u", k, K);
    mpz_t p;
    mpz_init(p);
    double t0 = now(), c0 = cpu_now();
    int prc = mff_huge_part(p, n, k, K);
    if (getenv("MF_FACTORIAL_TRACE"))
        fprintf(stderr, "rank %d: part %u/%u in %.3f s, cpu %.3f s\n", g_rank,
                k, K, now() - t0, cpu_now() - c0);
    if (prc != 0) {
        mpz_clear(p);
        return mf_task_fail(task, "part: out of memory (n=%llu)",
                            (unsigned long long)n);
    }
    int rc = mf_mpz_task_return(task, p);
    mpz_clear(p);
    if (rc != MF_OK)
        return mf_task_fail(task, "part: result: %s", mf_strerror(rc));
    return 0;
}

/* Padded encodings (mf_mpz_padded_size) one after another, so that the
 * reader can use zero-copy views (mf_mpz_view). */
static void put_mpz_padded(unsigned char *buf, size_t *off, const mpz_t z)
{
    size_t ps = mf_mpz_packed_size(z), pad = mf_mpz_padded_size(z);
    mf_mpz_pack(z, buf + *off, ps, NULL);
    memset(buf + *off + ps, 0, pad - ps);
    *off += pad;
}

/* Read the encoding at buf[*off..len): a view on the bytes when the layout
 * allows, else a copy into `tmp`; *src points at the one to read. */
static int get_mpz(const unsigned char *buf, size_t len, size_t *off,
                   mpz_t view, mpz_t tmp, mpz_srcptr *src)
{
    size_t used = 0;
    int rc = mf_mpz_view(view, buf + *off, len - *off, &used);
    if (rc == MF_OK) {
        *src = view;
    } else if (rc == MF_ESTATE) {
        rc = mf_mpz_unpack(tmp, buf + *off, len - *off, &used);
        *src = tmp;
    }
    if (rc != MF_OK)
        return rc;
    used = (used + 7) & ~(size_t)7;
    *off = used > len - *off ? len : *off + used;
    return MF_OK;
}

static int task_mul(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0, off = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    mpz_t ta, tb;
    mpz_t va = {{0, 0, NULL}}, vb = {{0, 0, NULL}}; /* views, see get_mpz */
    mpz_srcptr A = NULL, B = NULL;
    mpz_inits(ta, tb, NULL);
    int rc = get_mpz(a, len, &off, va, ta, &A);
    if (rc == MF_OK)
        rc = get_mpz(a, len, &off, vb, tb, &B);
    if (rc == MF_OK && off != len)
        rc = MF_EPROTO;
    if (rc != MF_OK) {
        mpz_clears(ta, tb, NULL);
        return mf_task_fail(task, "mul: malformed argument: %s",
                            mf_strerror(rc));
    }
    double t0 = now(), c0 = cpu_now();
    mpz_t x;
    mpz_init(x);
    mpz_mul(x, A, B);
    mpz_clears(ta, tb, NULL);
    if (getenv("MF_FACTORIAL_TRACE"))
        fprintf(stderr, "rank %d: mul %zu bytes in %.3f s, cpu %.3f s\n",
                g_rank, len, now() - t0, cpu_now() - c0);
    void *out = NULL;
    size_t pad = mf_mpz_padded_size(x);
    rc = mf_task_result_buffer(task, pad, &out);
    if (rc == MF_OK) {
        off = 0;
        put_mpz_padded(out, &off, x);
    }
    mpz_clear(x);
    if (rc != MF_OK)
        return mf_task_fail(task, "mul: result: %s", mf_strerror(rc));
    return 0;
}

/* ---- root side ----------------------------------------------------------
 */

/*
 * Progress bar (done/total, rate, ETA). Where it goes:
 *  - MF_PROGRESS=0: nowhere; MF_PROGRESS=1: standard error, always;
 *  - standard error, when it is a terminal;
 *  - else, under a launcher that pipes our output (mpirun does), the
 *    controlling terminal (/dev/tty) if there is one, but only while no
 *    result lines go to standard output (--quiet, or the demo once its
 *    sample of lines is printed): those travel through the launcher and
 *    would land in the middle of the bar.
 * Batch jobs (no terminal) and tests get no bar.
 */
typedef struct progress {
    FILE *f;    /* where to draw, or NULL */
    int own;    /* f is /dev/tty: close it at the end */
    int direct; /* f is standard error (same stream order as stdout) */
    size_t total;
    double t0, last, busy_at;
} progress;

/* MF_PROGRESS as it was at start: the program's own bar uses it, and it
 * is taken out of the environment so the library draws no second one. */
static char *g_progress_env;

static void progress_open(progress *pg, const opts *o, size_t total)
{
    memset(pg, 0, sizeof *pg);
    pg->total = total;
    const char *env = g_progress_env;
    if (env && strcmp(env, "0") == 0)
        return;
    if ((env && strcmp(env, "1") == 0) || isatty(2)) {
        pg->f = stderr;
        pg->direct = 1;
        return;
    }
    if (o->quiet || o->max_lines) {
        pg->f = fopen("/dev/tty", "w");
        pg->own = pg->f != NULL;
    }
}

/* `stdout_busy`: result lines are still being printed to stdout. */
static void progress_draw(progress *pg, size_t done, int final,
                          int stdout_busy)
{
    if (!pg->f)
        return;
    double t = now();
    if (!pg->direct && stdout_busy) {
        pg->busy_at = t;
        return;
    }
    /* Let the launcher deliver the last result lines first. */
    if (!pg->direct && !final && t - pg->busy_at < 0.25)
        return;
    if (!final && t - pg->last < 0.1)
        return;
    if (final && pg->last == 0)
        return; /* never drawn: nothing to clear */
    pg->last = t;
    if (final) {
        fputs("\r\033[K", pg->f);
        fflush(pg->f);
        return;
    }
    double el = t - pg->t0, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(pg->total - done) / rate : 0;
    char bar[31];
    size_t fill = pg->total ? done * 30 / pg->total : 30;
    for (size_t i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(pg->f, "\r[%s] %zu/%zu  %.0f/s  ETA %.1fs \033[K", bar, done,
            pg->total, rate, eta);
    fflush(pg->f);
}

/* Before a result line goes to stdout (bar on standard error only). */
static void progress_clear(progress *pg)
{
    if (pg->f && pg->direct && pg->last != 0) {
        fputs("\r\033[K", pg->f);
        fflush(pg->f);
        pg->last = 0;
    }
}

static void progress_close(progress *pg)
{
    if (pg->own)
        fclose(pg->f);
    pg->f = NULL;
}

typedef struct item_out {
    char *line;  /* result line (ordered mode) */
    char *value; /* decimal value (ordered + --print) */
} item_out;

static int write_value_file(const char *dir, uint64_t n, const char *dec)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%llu.txt", dir, (unsigned long long)n);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "mf-factorial: %s: %s\n", path, strerror(errno));
        return EX_RUNTIME;
    }
    int bad = fputs(dec, f) < 0 || fputc('\n', f) < 0;
    bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "mf-factorial: writing %s failed\n", path);
        return EX_RUNTIME;
    }
    return EX_OK;
}

typedef struct set_state {
    const opts *o;
    item_out *outs;
    size_t next_print;
    uint64_t digits, checksum;
    size_t done, printed;
    int rc;
    mpz_t v, ref;
} set_state;

/* Print one result (line, and value with --print); the demo prints only
 * its first max_lines results. */
static void put_result(set_state *st, size_t idx, const char *line,
                       const char *value)
{
    const opts *o = st->o;
    if (o->max_lines && st->printed >= o->max_lines) {
        if (st->printed++ == o->max_lines)
            printf("... (the demo shows only the first %zu result lines; the "
                   "summary follows)\n",
                   o->max_lines);
        fflush(stdout);
        return;
    }
    st->printed++;
    fputs(line, stdout);
    if (value)
        printf("%llu! = %s\n", (unsigned long long)o->ns[idx], value);
    if (o->max_lines && st->printed == o->max_lines)
        fflush(stdout);
}

static void emit(set_state *st, size_t idx, char *line, char *value)
{
    const opts *o = st->o;
    if (o->quiet) {
        free(line);
        free(value);
        return;
    }
    if (!o->ordered) {
        put_result(st, idx, line, value);
        free(line);
        free(value);
        return;
    }
    st->outs[idx].line = line;
    st->outs[idx].value = value;
    while (st->next_print < o->count && st->outs[st->next_print].line) {
        item_out *it = &st->outs[st->next_print];
        put_result(st, st->next_print, it->line, it->value);
        free(it->line);
        free(it->value);
        it->line = it->value = NULL;
        st->next_print++;
    }
}

/* Handle one chunk result: `idx` are the item indices of the chunk. */
static int take_chunk(set_state *st, const size_t *idx, size_t cnt,
                      const unsigned char *data, size_t len, int full)
{
    const opts *o = st->o;
    if (len < cnt * REC_BYTES) {
        fprintf(stderr, "mf-factorial: malformed chunk result (%zu bytes)\n",
                len);
        return EX_RUNTIME;
    }
    size_t off = cnt * REC_BYTES;
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *r = data + i * REC_BYTES;
        uint64_t w[REC_WORDS];
        for (int k = 0; k < REC_WORDS; k++)
            w[k] = get64(r + 8 * k);
        uint64_t n = o->ns[idx[i]];
        if (w[0] != n || w[2] >= MFF_MOD) {
            fprintf(stderr,
                    "mf-factorial: result record for %llu! is malformed\n",
                    (unsigned long long)n);
            return EX_RUNTIME;
        }
        st->digits += w[1];
        st->checksum += w[2];
        if (st->checksum >= MFF_MOD)
            st->checksum -= MFF_MOD;
        char *dec = NULL;
        if (full) {
            size_t used = 0;
            int rc = mf_mpz_unpack(st->v, data + off, len - off, &used);
            if (rc != MF_OK) {
                fprintf(stderr,
                        "mf-factorial: value of %llu! is malformed: %s\n",
                        (unsigned long long)n, mf_strerror(rc));
                return EX_RUNTIME;
            }
            off += used;
            if (o->check) {
                mpz_fac_ui(st->ref, (unsigned long)n);
                int same = mpz_cmp(st->ref, st->v) == 0;
                uint64_t d = mff_digits(st->ref);
                same = same && d == w[1] && mff_mod_m(st->ref) == w[2] &&
                       mff_fact_mod_m(n) == w[2] &&
                       mff_leading(st->ref, d, LEAD_DIGITS) == w[3] &&
                       mff_fact_tail9(n, st->ref) == w[4] &&
                       mff_fact_zeros(n) == w[5];
                if (!same) {
                    fprintf(stderr,
                            "mf-factorial: CHECK FAILED for %llu! (from rank "
                            "%llu)\n",
                            (unsigned long long)n, (unsigned long long)w[7]);
                    st->rc = EX_CHECK;
                }
            }
            if (o->print || o->outdir) {
                dec = mpz_get_str(NULL, 10, st->v);
                if (o->outdir &&
                    write_value_file(o->outdir, n, dec) != EX_OK) {
                    free(dec);
                    return EX_RUNTIME;
                }
                if (!o->print) {
                    free(dec);
                    dec = NULL;
                }
            }
        }
        char *line = NULL;
        if (!o->quiet) {
            char tail[32];
            if (w[1] - w[5] > 9)
                snprintf(tail, sizeof tail, "%09llu",
                         (unsigned long long)w[4]);
            else
                snprintf(tail, sizeof tail, "%llu", (unsigned long long)w[4]);
            size_t cap = 256;
            line = malloc(cap);
            if (line == NULL)
                return EX_RUNTIME;
            snprintf(line, cap,
                     "n=%llu digits=%llu lead=%llu tail=%s zeros=%llu "
                     "rank=%llu ms=%.3f\n",
                     (unsigned long long)n, (unsigned long long)w[1],
                     (unsigned long long)w[3], tail, (unsigned long long)w[5],
                     (unsigned long long)w[7], (double)w[6] * 1e-6);
        }
        emit(st, idx[i], line, dec);
        st->done++;
    }
    if (full && off != len) {
        fprintf(stderr, "mf-factorial: chunk result has %zu trailing bytes\n",
                len - off);
        return EX_RUNTIME;
    }
    return EX_OK;
}

static const uint64_t *g_sort_ns;
static int cmp_idx_desc(const void *pa, const void *pb)
{
    uint64_t a = g_sort_ns[*(const size_t *)pa],
             b = g_sort_ns[*(const size_t *)pb];
    return a < b ? 1 : a > b ? -1 : 0;
}

typedef struct hidx {
    uint64_t h;
    size_t idx;
} hidx;

static int cmp_hidx(const void *pa, const void *pb)
{
    uint64_t a = ((const hidx *)pa)->h, b = ((const hidx *)pb)->h;
    return a < b ? -1 : a > b;
}

/* Index of the chunk whose future handle is h (nchunks if none). */
static size_t find_chunk(const hidx *v, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].h == h ? v[lo].idx : n;
}

static const char *sig_name(int sig)
{
    return sig == SIGTERM   ? "TERM"
           : sig == SIGINT  ? "INT"
           : sig == SIGUSR1 ? "USR1"
                            : "?";
}

/* The executor of the phase that runs, for report_future_error(). */
static mf_executor *g_ex;
static size_t g_done; /* integers finished by run_set (atomic: the root's
                         watchdog thread reads it) */

static void set_done(size_t v)
{
    __atomic_store_n(&g_done, v, __ATOMIC_RELAXED);
}

static size_t get_done(void)
{
    return __atomic_load_n(&g_done, __ATOMIC_RELAXED);
}

/* Releases that failed (a future released twice, or a stale handle): a
 * bug of this program, reported and turned into exit status 3. */
static int g_release_errors;

static void release_future(mf_future f)
{
    int e = mf_future_release(f);
    if (e != MF_OK) {
        fprintf(stderr,
                "mf-factorial: internal error: releasing a future: %s (%s)\n",
                mf_strerror(e), mf_last_error());
        g_release_errors++;
    }
}

/* Journal figures printed on stderr (MF_JOURNAL): whether one is used. */
static int journal_on(void)
{
    const char *j = getenv("MF_JOURNAL");
    return j != NULL && *j != '\0';
}

/* The journal's reuse counter (futures completed from it so far). */
static size_t journal_reused(mf_executor *ex)
{
    size_t r = 0;
    if (mf_executor_journal(ex, NULL, &r, NULL) != MF_OK)
        return 0;
    return r;
}

static void journal_report(mf_executor *ex, const char *what, size_t got,
                           size_t of, size_t tasks_got, size_t tasks)
{
    if (!journal_on())
        return;
    size_t loaded = 0, torn = 0;
    mf_executor_journal(ex, &loaded, NULL, &torn);
    fprintf(stderr,
            "mf-factorial: journal: %zu of %zu %s (%zu of %zu tasks) taken "
            "from the journal, not recomputed (%zu records loaded",
            got, of, what, tasks_got, tasks, loaded);
    if (torn)
        fprintf(stderr, "; a torn end of %zu bytes dropped", torn);
    fputs(")\n", stderr);
    fflush(stderr);
}

static int report_future_error(mf_future f, int rc, const char *what)
{
    /* After a signal, cancelled and abandoned futures are expected: the
     * run reports the interruption once, not each future. */
    if (g_ex && mf_executor_interrupted(g_ex))
        return EX_INTERRUPTED;
    const mf_task_error *e = NULL;
    if (rc == MF_ETASK && mf_future_error(f, 0, &e) == MF_OK && e)
        fprintf(stderr, "mf-factorial: %s failed on rank %d (%s): %s\n", what,
                e->rank, e->host ? e->host : "?",
                e->message ? e->message : "");
    else
        fprintf(stderr, "mf-factorial: %s: %s (%s)\n", what, mf_strerror(rc),
                mf_last_error());
    return EX_RUNTIME;
}

static int run_set(mf_executor *ex, const opts *o, mf_fn_id fn_chunk,
                   double *seconds, uint64_t *digits, uint64_t *checksum)
{
    int full = o->print || o->outdir || o->check;
    size_t n = o->count;
    set_state st;
    memset(&st, 0, sizeof st);
    st.o = o;
    mpz_inits(st.v, st.ref, NULL);
    if (o->ordered)
        st.outs = calloc(n, sizeof *st.outs);
    size_t *order = malloc(n * sizeof *order);
    size_t *start = malloc((n + 1) * sizeof *start);
    mf_future *futs = malloc(n * sizeof *futs);
    unsigned char *arg = malloc(16 + 8 * (o->chunk ? o->chunk : 4096));
    int rc = EX_OK;
    if ((o->ordered && !st.outs) || !order || !start || !futs || !arg) {
        fprintf(stderr, "mf-factorial: out of memory\n");
        rc = EX_RUNTIME;
        goto out;
    }
    /* Largest first: the expensive items start early and the cheap ones
     * fill the gaps at the end (longest-processing-time order). */
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    g_sort_ns = o->ns;
    qsort(order, n, sizeof *order, cmp_idx_desc);
    /* Chunks: fixed size, or by estimated cost (bits of n!). */
    size_t nchunks = 0;
    const double target_bits = 2.0e5;
    for (size_t i = 0; i < n;) {
        start[nchunks++] = i;
        if (o->chunk) {
            i += o->chunk;
        } else {
            double acc = 0;
            size_t k = 0;
            do {
                acc += mff_fact_bits(o->ns[order[i]]) + 64.0 * 16;
                i++;
                k++;
            } while (i < n && acc < target_bits && k < 4096);
        }
        if (i > n)
            i = n;
    }
    start[nchunks] = n;
    progress pg;
    progress_open(&pg, o, n);
    double t0 = now();
    pg.t0 = t0;
    size_t submitted = 0, jr_ints = 0, jr_tasks = 0;
    size_t jr = journal_reused(ex);
    for (size_t c = 0; c < nchunks; c++) {
        size_t cnt = start[c + 1] - start[c];
        put64(arg, ((uint64_t)CHUNK_MAGIC << 32) | (full ? FLAG_FULL : 0));
        put64(arg + 8, cnt);
        for (size_t k = 0; k < cnt; k++)
            put64(arg + 16 + 8 * k, o->ns[order[start[c] + k]]);
        int e = mf_submit(ex, fn_chunk, arg, 16 + 8 * cnt, &futs[c]);
        if (e == MF_EINTR)
            break; /* a signal: collect what was submitted, see below */
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: submit failed: %s (%s)\n",
                    mf_strerror(e), mf_last_error());
            rc = EX_RUNTIME;
            break;
        }
        submitted++;
        size_t jr2 = journal_reused(ex); /* completed from the journal? */
        if (jr2 != jr) {
            jr = jr2;
            jr_ints += cnt;
            jr_tasks++;
        }
    }
    nchunks = submitted; /* only those are collected */
    hidx *byh = NULL;
    if (rc == EX_OK &&
        (byh = malloc((nchunks ? nchunks : 1) * sizeof *byh)) == NULL) {
        fprintf(stderr, "mf-factorial: out of memory\n");
        rc = EX_RUNTIME;
    }
    if (rc == EX_OK) {
        for (size_t c = 0; c < nchunks; c++)
            byh[c] = (hidx){futs[c].h, c};
        qsort(byh, nchunks, sizeof *byh, cmp_hidx);
        mf_as_completed_iter *it = NULL;
        int e = mf_as_completed(futs, nchunks, MF_FOREVER, &it);
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: as_completed: %s\n",
                    mf_strerror(e));
            rc = EX_RUNTIME;
        }
        mf_future f;
        long raise_after = env_long("MF_FACTORIAL_TEST_SIGNAL_AFTER");
        while (rc == EX_OK && (e = mf_as_completed_next(it, &f)) == MF_OK) {
            const void *data = NULL;
            size_t len = 0;
            int r = mf_future_result(f, 0, &data, &len);
            if (r != MF_OK && mf_executor_interrupted(ex)) {
                /* After a signal: queued futures are cancelled, running
                 * ones abandoned after the grace period. Go on: results
                 * that still arrive in the grace period count. */
                const mf_task_error *te = NULL;
                if (r == MF_ECANCELLED ||
                    (r == MF_ETASK && mf_future_error(f, 0, &te) == MF_OK &&
                     te && te->reason == MF_FAIL_ABANDONED))
                    continue;
            }
            if (r != MF_OK) {
                rc = report_future_error(f, r, "a factorial task");
                break;
            }
            size_t c = find_chunk(byh, nchunks, f.h);
            if (c == nchunks) {
                fprintf(stderr,
                        "mf-factorial: unknown future from as_completed\n");
                rc = EX_RUNTIME;
                break;
            }
            progress_clear(&pg);
            rc = take_chunk(&st, order + start[c], start[c + 1] - start[c],
                            data, len, full);
            set_done(st.done);
            /* Test hook: a walltime warning to the root after K integers,
             * while tasks are in flight (tests/factorial). */
            if (raise_after >= 0 && st.done >= (size_t)raise_after) {
                raise_after = -1;
                raise(SIGUSR1);
            }
            progress_draw(&pg, st.done, 0,
                          !o->quiet &&
                              (!o->max_lines || st.printed <= o->max_lines));
        }
        if (rc == EX_OK && e != MF_EDONE) {
            fprintf(stderr, "mf-factorial: as_completed_next: %s\n",
                    mf_strerror(e));
            rc = EX_RUNTIME;
        }
        mf_as_completed_free(it);
    }
    free(byh);
    *seconds = now() - t0;
    progress_draw(&pg, st.done, 1, 0);
    progress_close(&pg);
    set_done(st.done);
    journal_report(ex, "integers", jr_ints, n, jr_tasks, submitted);
    if (rc == EX_RUNTIME || rc == EX_INTERRUPTED)
        mf_executor_shutdown(ex, 0, 1);
    for (size_t c = 0; c < submitted; c++)
        release_future(futs[c]);
    if (rc == EX_OK)
        rc = st.rc;
    *digits = st.digits;
    *checksum = st.checksum;
out:
    if (st.outs) {
        for (size_t i = 0; i < n; i++) {
            free(st.outs[i].line);
            free(st.outs[i].value);
        }
        free(st.outs);
    }
    mpz_clears(st.v, st.ref, NULL);
    free(order);
    free(start);
    free(futs);
    free(arg);
    return rc;
}

/* Unpack one encoding followed by at most 7 zero bytes of padding. */
static int unpack_padded(mpz_t z, const void *data, size_t len)
{
    size_t used = 0;
    int e = mf_mpz_unpack(z, data, len, &used);
    if (e != MF_OK)
        return e;
    const unsigned char *p = data;
    if (len - used >= 8)
        return MF_EPROTO;
    for (size_t i = used; i < len; i++)
        if (p[i] != 0)
            return MF_EPROTO;
    return MF_OK;
}

/* Wait for every future; unpack each result into vals[i]. */
static int collect_mpz(mf_future *futs, size_t n, mpz_t *vals,
                       const char *what)
{
    int rc = EX_OK;
    for (size_t i = 0; i < n; i++) {
        const void *data = NULL;
        size_t len = 0;
        int e = mf_future_result(futs[i], MF_FOREVER, &data, &len);
        if (e != MF_OK) {
            if (rc == EX_OK)
                rc = report_future_error(futs[i], e, what);
        } else if (rc == EX_OK &&
                   (e = unpack_padded(vals[i], data, len)) != MF_OK) {
            fprintf(stderr, "mf-factorial: %s: malformed result: %s\n", what,
                    mf_strerror(e));
            rc = EX_RUNTIME;
        }
        release_future(futs[i]);
    }
    return rc;
}

/*
 * Futures of the huge run. Ownership: whoever submits puts the handle in
 * futs[]; collect_mpz() (or release_all() when nothing is collected)
 * releases each exactly once. Every handle is also noted here, and at the
 * end each must be stale (released): a handle still alive is a leak, a
 * failed release a double release (both: exit status 3).
 */
static mf_future *g_huge_seen;
static size_t g_huge_nseen, g_huge_capseen, g_huge_submits;

static void huge_note(mf_future f)
{
    if (g_huge_nseen == g_huge_capseen) {
        size_t nc = g_huge_capseen ? 2 * g_huge_capseen : 64;
        mf_future *p = realloc(g_huge_seen, nc * sizeof *p);
        if (p == NULL)
            return; /* only the check is lost */
        g_huge_seen = p;
        g_huge_capseen = nc;
    }
    g_huge_seen[g_huge_nseen++] = f;
}

/* Each noted future must have been released; free the notes. */
static void huge_check_released(void)
{
    for (size_t i = 0; i < g_huge_nseen; i++) {
        if (mf_future_retain(g_huge_seen[i]) == MF_OK) {
            fprintf(stderr, "mf-factorial: internal error: a future of the "
                            "huge run was never released\n");
            g_release_errors++;
            mf_future_release(g_huge_seen[i]); /* the retain */
            mf_future_release(g_huge_seen[i]); /* the leak */
        }
    }
    free(g_huge_seen);
    g_huge_seen = NULL;
    g_huge_nseen = g_huge_capseen = g_huge_submits = 0;
}

/* mf_submit for the huge run. Test hook MF_FACTORIAL_TEST_FAIL_SUBMIT=K:
 * the K-th submit (from 1) fails with MF_ENOMEM without submitting. */
static int huge_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                       size_t len, mf_future *f)
{
    long fail_at = env_long("MF_FACTORIAL_TEST_FAIL_SUBMIT");
    if (fail_at > 0 && (size_t)fail_at == ++g_huge_submits)
        return MF_ENOMEM;
    int e = mf_submit(ex, fn, arg, len, f);
    if (e == MF_OK)
        huge_note(*f);
    return e;
}

static void release_all(mf_future *futs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        release_future(futs[i]);
}

static int submit_mul(mf_executor *ex, mf_fn_id fn_mul, const mpz_t a,
                      const mpz_t b, mf_future *f)
{
    size_t la = mf_mpz_padded_size(a), lb = mf_mpz_padded_size(b), off = 0;
    unsigned char *buf = malloc(la + lb);
    if (buf == NULL)
        return MF_ENOMEM;
    put_mpz_padded(buf, &off, a);
    put_mpz_padded(buf, &off, b);
    int e = huge_submit(ex, fn_mul, buf, la + lb, f);
    free(buf);
    return e;
}

/*
 * res = A * B on the workers: B is cut into S limb-aligned slices B_i
 * (read-only views on B's limbs, no copy), task i computes A * B_i, and
 * the root adds the products into res at their limb offsets (views on the
 * result bytes where possible, so each product is read once, not copied).
 */
static int huge_final_product(mf_executor *ex, mf_fn_id fn_mul, mpz_srcptr A,
                              mpz_srcptr B, unsigned S, mpz_t res, int trace,
                              double t0)
{
    if (S > 64)
        S = 64;
    mf_future futs[64];
    size_t off_of[64];
    size_t nf = 0, bl = mpz_size(B);
    const mp_limb_t *bp = mpz_limbs_read(B);
    uint64_t bbits = (uint64_t)bl * GMP_NUMB_BITS;
    int rc = EX_OK;
    /* Each task's argument (A, then its slice) is built once and handed
     * to the library without another copy (mf_submit_ex free_arg). */
    size_t la = mf_mpz_padded_size(A);
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.free_arg = free;
    for (unsigned i = 0; i < S; i++) {
        size_t lo = (size_t)(mff_slice_bit(bbits, S, i) / GMP_NUMB_BITS);
        size_t hi = (size_t)(mff_slice_bit(bbits, S, i + 1) / GMP_NUMB_BITS);
        if (hi > bl)
            hi = bl;
        if (hi <= lo)
            continue;
        mpz_t slice;
        mpz_roinit_n(slice, bp + lo, (mp_size_t)(hi - lo));
        unsigned char *arg = malloc(la + mf_mpz_padded_size(slice));
        if (arg == NULL) {
            fprintf(stderr, "mf-factorial: out of memory\n");
            rc = EX_RUNTIME;
            break;
        }
        size_t off = 0;
        put_mpz_padded(arg, &off, A);
        put_mpz_padded(arg, &off, slice);
        int e = mf_submit_ex(ex, fn_mul, arg, off, &so, &futs[nf]);
        if (e != MF_OK) { /* free_arg has been called */
            fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
            rc = EX_RUNTIME;
            break;
        }
        huge_note(futs[nf]);
        off_of[nf++] = lo;
    }
    if (trace)
        fprintf(stderr, "huge: %zu slices submitted at %.3f s\n", nf,
                now() - t0);
    /* Wait for all, then add them up in place. */
    mpz_t views[64], tmps[64];
    memset(views, 0, sizeof views); /* written by get_mpz() */
    mpz_srcptr src[64];
    size_t tn = 0;
    for (size_t i = 0; i < nf; i++) {
        mpz_init(tmps[i]);
        src[i] = NULL;
        const void *data = NULL;
        size_t len = 0, off = 0;
        int e = mf_future_result(futs[i], MF_FOREVER, &data, &len);
        if (e != MF_OK) {
            if (rc == EX_OK)
                rc = report_future_error(futs[i], e, "a huge product slice");
            continue;
        }
        e = get_mpz(data, len, &off, views[i], tmps[i], &src[i]);
        if (e != MF_OK || off != len || mpz_sgn(src[i]) < 0) {
            if (rc == EX_OK)
                fprintf(stderr, "mf-factorial: malformed product slice\n");
            rc = EX_RUNTIME;
            src[i] = NULL;
            continue;
        }
        size_t top = off_of[i] + mpz_size(src[i]);
        if (top > tn)
            tn = top;
    }
    if (trace)
        fprintf(stderr, "huge: slices done at %.3f s\n", now() - t0);
    if (rc == EX_OK) {
        tn += 1; /* room for the carry */
        mp_limb_t *rp = mpz_limbs_write(res, (mp_size_t)tn);
        memset(rp, 0, tn * sizeof *rp);
        for (size_t i = 0; i < nf; i++) {
            size_t n = mpz_size(src[i]);
            if (n == 0)
                continue;
            mp_limb_t cy = mpn_add(rp + off_of[i], rp + off_of[i],
                                   (mp_size_t)(tn - off_of[i]),
                                   mpz_limbs_read(src[i]), (mp_size_t)n);
            if (cy != 0) { /* cannot happen: the sum is A * B */
                fprintf(stderr, "mf-factorial: carry out of the product\n");
                rc = EX_RUNTIME;
            }
        }
        mpz_limbs_finish(res, (mp_size_t)tn);
    }
    for (size_t i = 0; i < nf; i++) {
        mpz_clear(tmps[i]);
        release_future(futs[i]);
    }
    return rc;
}

/*
 * One huge N!: K = W parts (prime-exponent split, round-robin primes) on
 * the W workers; pairwise products on the workers until two numbers A, B
 * are left; then A*B as W tasks A*B_i over limb-aligned slices B_i of B,
 * which the root adds up with shifts; finally the power of two.
 */
static int run_huge(mf_executor *ex, const opts *o, mf_fn_id fn_part,
                    mf_fn_id fn_mul)
{
    uint64_t n = o->huge;
    unsigned W = (unsigned)mf_executor_workers(ex);
    unsigned K = W < 1 ? 1 : W;
    if (n < 1000)
        K = 1;
    mpz_t *parts = malloc(K * sizeof *parts);
    mf_future *futs = malloc((K + W + 1) * sizeof *futs);
    if (parts == NULL || futs == NULL) {
        free(parts);
        free(futs);
        fprintf(stderr, "mf-factorial: out of memory\n");
        return EX_RUNTIME;
    }
    for (unsigned i = 0; i < K; i++)
        mpz_init(parts[i]);
    mpz_t res, t;
    mpz_inits(res, t, NULL);
    int rc = EX_OK;
    double t0 = now();
    size_t nf = 0, jr0 = journal_reused(ex);
    for (unsigned k = 0; k < K; k++) {
        unsigned char arg[16];
        put64(arg, n);
        put64(arg + 8, ((uint64_t)K << 32) | k);
        int e = huge_submit(ex, fn_part, arg, sizeof arg, &futs[nf]);
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
            rc = EX_RUNTIME;
            break;
        }
        nf++;
    }
    /* collect_mpz releases each future it is given; on a submit failure
     * the ones submitted are released unread. */
    if (rc == EX_OK)
        rc = collect_mpz(futs, nf, parts, "a huge part");
    else
        release_all(futs, nf);
    int trace = getenv("MF_FACTORIAL_TRACE") != NULL;
    if (trace)
        fprintf(stderr, "huge: %u parts done at %.3f s\n", K, now() - t0);
    unsigned cnt = K;
    while (rc == EX_OK && cnt > 2) {
        unsigned pairs = cnt / 2;
        nf = 0;
        for (unsigned i = 0; i < pairs && rc == EX_OK; i++) {
            int e = submit_mul(ex, fn_mul, parts[2 * i], parts[2 * i + 1],
                               &futs[nf]);
            if (e != MF_OK) {
                fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
                rc = EX_RUNTIME;
            } else {
                nf++;
            }
        }
        mpz_t *prod = malloc(pairs * sizeof *prod);
        if (prod == NULL) {
            rc = EX_RUNTIME;
            release_all(futs, nf);
            break;
        }
        for (unsigned i = 0; i < pairs; i++)
            mpz_init(prod[i]);
        int r2 = collect_mpz(futs, nf, prod, "a huge product");
        if (rc == EX_OK)
            rc = r2;
        for (unsigned i = 0; i < pairs; i++) {
            mpz_swap(parts[i], prod[i]);
            mpz_clear(prod[i]);
        }
        free(prod);
        if (cnt % 2)
            mpz_swap(parts[pairs], parts[cnt - 1]);
        cnt = pairs + cnt % 2;
    }
    if (rc == EX_OK && cnt == 1) {
        mpz_swap(res, parts[0]);
    } else if (rc == EX_OK) {
        /* A * B: slice the smaller factor. Small products stay local. */
        mpz_srcptr A = parts[0], B = parts[1];
        if (mpz_size(A) < mpz_size(B)) {
            A = parts[1];
            B = parts[0];
        }
        unsigned S = mpz_size(A) + mpz_size(B) < 4096 ? 0 : W;
        if (S == 0) {
            mpz_mul(res, A, B);
        } else {
            rc = huge_final_product(ex, fn_mul, A, B, S, res, trace, t0);
        }
    }
    uint64_t digits = 0, sum = 0;
    double secs = 0;
    if (rc == EX_OK) {
        mpz_mul_2exp(res, res, (mp_bitcnt_t)mff_fact_twos(n));
        digits = mff_digits(res);
        sum = mff_mod_m(res);
        secs = now() - t0;
        printf("huge: n=%llu digits=%llu checksum=%llu seconds=%.3f\n",
               (unsigned long long)n, (unsigned long long)digits,
               (unsigned long long)sum, secs);
        fflush(stdout);
        if (o->check) {
            double c0 = now();
            mpz_fac_ui(t, (unsigned long)n);
            double c1 = now();
            if (mpz_cmp(t, res) != 0) {
                fprintf(stderr, "mf-factorial: CHECK FAILED for huge %llu!\n",
                        (unsigned long long)n);
                rc = EX_CHECK;
            } else if (!o->quiet) {
                printf(
                    "check: huge %llu! equals mpz_fac_ui (%.3f s on rank 0, "
                    "%.2fx the split)\n",
                    (unsigned long long)n, c1 - c0, (c1 - c0) / secs);
            }
        }
        if (o->print || o->outdir) {
            char *dec = mpz_get_str(NULL, 10, res);
            if (o->print)
                printf("%llu! = %s\n", (unsigned long long)n, dec);
            if (o->outdir && write_value_file(o->outdir, n, dec) != EX_OK)
                rc = EX_RUNTIME;
            free(dec);
        }
    }
    for (unsigned i = 0; i < K; i++)
        mpz_clear(parts[i]);
    mpz_clears(res, t, NULL);
    free(parts);
    free(futs);
    if (journal_on()) {
        size_t loaded = 0;
        mf_executor_journal(ex, &loaded, NULL, NULL);
        fprintf(stderr,
                "mf-factorial: journal: %zu of %zu tasks of --huge %llu "
                "taken from the journal, not recomputed (%zu records "
                "loaded)\n",
                journal_reused(ex) - jr0, g_huge_nseen, (unsigned long long)n,
                loaded);
    }
    huge_check_released();
    return rc;
}

/* ---- lost ranks ----------------------------------------------------------
 *
 * When a rank dies, the launcher ends the job: Open MPI's mpirun sends
 * SIGTERM to the other ranks, then SIGKILL. With the signal handling on,
 * the root would take that SIGTERM for a walltime warning, wait through
 * the grace period for tasks that can never finish, and be killed. The
 * library cannot tell (it sees no MPI error before the SIGTERM). So every
 * rank tells the others who it is (pid, start time, node), and:
 *  - the root watches its workers on its own node while a phase runs:
 *    a worker whose process is gone (or a zombie, or a new process under
 *    the old pid) is a lost rank: say so, and exit at once;
 *  - a worker on the root's node exits at once when the root is gone,
 *    instead of surviving the launcher's SIGTERM until its SIGKILL;
 *  - workers on other nodes cannot be checked from the root: after a
 *    SIGTERM the root says that both causes are possible.
 */
typedef struct rank_id {
    int64_t pid;
    uint64_t start; /* start time (clock ticks after boot), 0 unknown */
    char node[128]; /* boot id + pid namespace: same node and pid space */
    char host[64];
} rank_id;

static rank_id *g_ids; /* every rank's, indexed by world rank */
static int g_nranks;
/* Test hook MF_FACTORIAL_TEST_REMOTE=1: no rank can be checked, as if
 * each ran on another node. */
static int g_test_remote;

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    int err = errno;
    close(fd);
    errno = err;
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* State letter and start time of process `pid` from /proc (no stdio, no
 * allocation). Returns 0, or an errno value (ENOENT: no such process). */
static int proc_stat(int64_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return errno;
    char *p = strrchr(buf, ')'); /* the name may hold anything */
    if (p == NULL || p[1] != ' ')
        return EINVAL;
    p += 2;
    *state = *p;
    /* Field 3 is the state; the start time is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return EINVAL;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

static void self_id(rank_id *r)
{
    memset(r, 0, sizeof *r);
    r->pid = (int64_t)getpid();
    char st = 0;
    if (proc_stat(r->pid, &st, &r->start) != 0)
        r->start = 0;
    if (gethostname(r->host, sizeof r->host - 1) != 0)
        strcpy(r->host, "?");
    char boot[64], ns[64];
    ssize_t nb =
        read_small("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
    ssize_t nn = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (nb > 0 && nn > 0) {
        ns[nn] = '\0';
        boot[strcspn(boot, "\n")] = '\0';
        snprintf(r->node, sizeof r->node, "%s %s", boot, ns);
    } /* else: unknown, never compared */
}

/* 1: rank r's process is gone; 0: it runs; -1: cannot tell from here. */
static int rank_gone(int r)
{
    const rank_id *me = &g_ids[g_rank], *x = &g_ids[r];
    if (me->node[0] == '\0' || strcmp(me->node, x->node) != 0)
        return -1;
    if (g_test_remote)
        return -1; /* test hook: every other rank "on another node" */
    char st = 0;
    uint64_t start = 0;
    int e = proc_stat(x->pid, &st, &start);
    if (e == ENOENT || e == ESRCH)
        return 1;
    if (e != 0)
        return -1;
    if (st == 'Z' || st == 'X' || st == 'x')
        return 1;
    if (x->start != 0 && start != x->start)
        return 1; /* the pid is another process's now */
    return 0;
}

typedef struct watchdog {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
    mf_executor *ex; /* root: the phase's executor; NULL on a worker */
    int phase;
    const opts *o;
} watchdog;

static watchdog g_wd = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};

/* Wait up to `ms` or until stopped; 1 if stopped. */
static int wd_pause(watchdog *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->stop)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void wd_lost_exit(watchdog *w, int lost, int nlost)
{
    const rank_id *x = &g_ids[lost];
    char more[64] = "";
    if (nlost > 1)
        snprintf(more, sizeof more, " (and %d more)", nlost - 1);
    char done[160];
    if (w->phase == 1)
        snprintf(done, sizeof done, "%zu of %zu integers finished",
                 get_done(), w->o->count);
    else
        snprintf(done, sizeof done, "--huge %llu not finished",
                 (unsigned long long)w->o->huge);
    fflush(stdout);
    fprintf(stderr,
            "mf-factorial: worker rank %d (pid %lld on %s)%s was lost: its "
            "process is gone, so the job cannot finish (a SIGTERM now is "
            "the launcher ending the job, not a walltime stop); %s; no "
            "summary; exiting now\n",
            lost, (long long)x->pid, x->host, more, done);
    fflush(stderr);
    _exit(EX_RUNTIME);
}

static void *wd_main(void *arg)
{
    watchdog *w = arg;
    int noted = 0;
    do {
        if (w->ex == NULL) { /* a worker: follow the root */
            if (rank_gone(0) == 1) {
                fprintf(stderr,
                        "mf-factorial: rank %d: the root (rank 0) is gone; "
                        "exiting\n",
                        g_rank);
                fflush(stderr);
                _exit(EX_RUNTIME);
            }
            continue;
        }
        int lost = -1, nlost = 0, unknown = 0;
        for (int r = 1; r < g_nranks; r++) {
            int g = rank_gone(r);
            if (g == 1 && nlost++ == 0)
                lost = r;
            unknown += g < 0;
        }
        if (nlost)
            wd_lost_exit(w, lost, nlost);
        int sig = mf_executor_interrupted(w->ex);
        if (sig == SIGTERM && !noted) {
            noted = 1;
            if (unknown)
                fprintf(stderr,
                        "mf-factorial: SIGTERM: either the batch system "
                        "stops the job (walltime), or the launcher ends it "
                        "because a rank was lost: %d worker(s) run on other "
                        "nodes and cannot be checked from here (see the "
                        "launcher's messages); the workers on this node "
                        "are alive\n",
                        unknown);
        }
    } while (!wd_pause(w, w->ex ? 50 : 100));
    return NULL;
}

/* Start watching (root: `ex` of `phase`; worker: ex NULL). */
static void wd_start(mf_executor *ex, int phase, const opts *o)
{
    if (g_ids == NULL || g_wd.running)
        return;
    if (ex == NULL && rank_gone(0) < 0)
        return; /* the root is on another node: nothing to watch */
    g_wd.ex = ex;
    g_wd.phase = phase;
    g_wd.o = o;
    g_wd.stop = 0;
    if (pthread_create(&g_wd.th, NULL, wd_main, &g_wd) == 0)
        g_wd.running = 1;
}

static void wd_stop(void)
{
    if (!g_wd.running)
        return;
    pthread_mutex_lock(&g_wd.mu);
    g_wd.stop = 1;
    pthread_cond_signal(&g_wd.cv);
    pthread_mutex_unlock(&g_wd.mu);
    pthread_join(g_wd.th, NULL);
    g_wd.running = 0;
}

/* ---- main ---------------------------------------------------------------
 */

int main(int argc, char **argv)
{
    int provided = 0;
    if (mf_init(&argc, &argv, &provided) != MF_OK) {
        fprintf(stderr, "mf-factorial: MPI initialisation failed\n");
        return EX_RUNTIME;
    }
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    {
        const char *pe = getenv("MF_PROGRESS");
        if (pe) {
            g_progress_env = strdup(pe);
            unsetenv("MF_PROGRESS");
        }
    }
    double phys = (double)phys_bytes();
    g_max_n = max_n_for_bytes(fmin(phys / 4, 1024.0 * 1024 * 1024 - 4096));
    g_max_huge = max_n_for_bytes(fmin(phys / 10, 400.0 * 1024 * 1024));

    /* Rank 0 decides; everyone learns the verdict before any work. */
    opts o;
    memset(&o, 0, sizeof o);
    int plan[3] = {0, 0, 0}; /* verdict, have a set, have a huge N */
    if (g_rank == 0) {
        plan[0] = parse_args(&o, argc, argv);
        /* The bar's own setting is checked like the library's MF_* ones:
         * a typo must not silently pick a mode. */
        if (plan[0] == EX_OK && g_progress_env && *g_progress_env &&
            strcmp(g_progress_env, "0") && strcmp(g_progress_env, "1"))
            plan[0] = usage_error("environment variable MF_PROGRESS='%.40s' "
                                  "is not 0 or 1",
                                  g_progress_env);
        if (plan[0] == EX_OK && size < 2)
            plan[0] =
                usage_error("needs at least 2 MPI ranks (rank 0 submits, the "
                            "others compute): mpirun -n 3 mf-factorial ...");
        plan[1] = o.count > 0;
        plan[2] = o.have_huge;
        fflush(stdout);
    }
    MPI_Bcast(plan, 3, MPI_INT, 0, MPI_COMM_WORLD);
    if (plan[0] != EX_OK) {
        free(o.ns);
        mf_finalize();
        return plan[0] < 0 ? EX_OK : plan[0];
    }

    /* Who is who (see "lost ranks"). */
    g_test_remote = env_long("MF_FACTORIAL_TEST_REMOTE") == 1;
    g_nranks = size;
    g_ids = calloc((size_t)size, sizeof *g_ids);
    rank_id me;
    self_id(&me);
    if (MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, g_ids ? g_ids : &me,
                      g_ids ? (int)sizeof me : 0, MPI_BYTE,
                      MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(g_ids);
        g_ids = NULL;
    }
    if (g_rank != 0)
        wd_start(NULL, 0, &o);

    mf_fn_id fn_chunk, fn_part, fn_mul;
    if (mf_register("mf-factorial.chunk", task_chunk, NULL, &fn_chunk) !=
            MF_OK ||
        mf_register("mf-factorial.part", task_part, NULL, &fn_part) !=
            MF_OK ||
        mf_register("mf-factorial.mul", task_mul, NULL, &fn_mul) != MF_OK) {
        fprintf(stderr, "mf-factorial: rank %d: register: %s\n", g_rank,
                mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, EX_RUNTIME);
    }
    if (g_rank != 0 && plan[1]) {
        /* Build the trailing-digit table before the clock starts. */
        mpz_t z;
        mpz_init_set_ui(z, 1);
        (void)mff_fact_tail9(1, z);
        mpz_clear(z);
    }
    int rc = EX_OK;
    uint64_t digits = 0, sum = 0;
    double secs = 0;
    /*
     * Two executors, one after the other (every rank opens both):
     *  - the set: the default window keeps workers fed with small tasks;
     *  - the huge N!: window 1, so the few big tasks of each phase land on
     *    different workers instead of queueing behind each other.
     */
    for (int phase = 1; phase <= 2; phase++) {
        if (!plan[phase])
            continue;
        mf_executor_opts eo;
        mf_executor_opts_init(&eo);
        /* The main job of batch scripts: a walltime warning (SIGUSR1,
         * SIGTERM) ends it cleanly with a count (MF_SIGNALS=0 turns it
         * off). */
        eo.handle_signals = 1;
        if (phase == 2)
            eo.window = 1;
        const char *ws = getenv("MF_FACTORIAL_WINDOW"); /* for experiments */
        if (phase == 1 && ws && atoi(ws) > 0)
            eo.window = (unsigned)atoi(ws);
        mf_executor *ex = NULL;
        int e = mf_executor_open(MPI_COMM_WORLD, 0, &eo, &ex);
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: rank %d: executor: %s (%s)\n",
                    g_rank, mf_strerror(e), mf_last_error());
            rc = EX_RUNTIME;
            break;
        }
        if (ex != NULL) { /* root; a worker has served this phase */
            if (phase == 1 && o.demo)
                printf("mf-factorial demo on %d workers: %zu factorials "
                       "(--range "
                       "1000:20000:2000 --range 50000:200000:64), then "
                       "10000000! split over "
                       "the workers.\nTry: mf-factorial --help; mf-factorial "
                       "--ordered 0 1 "
                       "5 10 100 1000\n",
                       mf_executor_workers(ex), o.count);
            g_ex = ex;
            set_done(0);
            wd_start(ex, phase, &o);
            int r = phase == 1
                        ? run_set(ex, &o, fn_chunk, &secs, &digits, &sum)
                        : run_huge(ex, &o, fn_part, fn_mul);
            int sig = mf_executor_interrupted(ex);
            if (sig) {
                const char *ab = sig_name(sig);
                if (phase == 1)
                    fprintf(stderr,
                            "mf-factorial: interrupted by SIG%s: %zu of %zu "
                            "integers finished, the rest cancelled; no "
                            "summary\n",
                            ab ? ab : "?", get_done(), o.count);
                else
                    fprintf(stderr,
                            "mf-factorial: interrupted by SIG%s: --huge %llu "
                            "not finished (0 of 1 done); no result\n",
                            ab ? ab : "?", (unsigned long long)o.huge);
                fflush(stderr);
                r = EX_INTERRUPTED;
            }
            if (r == EX_RUNTIME || r == EX_INTERRUPTED)
                mf_executor_shutdown(ex, 0, 1);
            /* Until the workers are released, a rank lost ends the job
             * at once (see "lost ranks"). */
            e = mf_executor_close(ex);
            wd_stop();
            if (e != MF_OK && r == EX_OK) {
                fprintf(stderr, "mf-factorial: close: %s\n", mf_strerror(e));
                r = EX_RUNTIME;
            }
            if (r != EX_OK && rc != EX_RUNTIME)
                rc = r;
            g_ex = NULL;
        }
        if (rc == EX_RUNTIME || rc == EX_INTERRUPTED)
            plan[2] = 0; /* workers learn it from the root: see below */
        /* Every rank must agree whether the next phase runs. */
        MPI_Bcast(&plan[2], 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    if (g_rank == 0 && g_release_errors && rc == EX_OK)
        rc = EX_RUNTIME;
    if (g_rank == 0 && rc != EX_RUNTIME && rc != EX_INTERRUPTED) {
        printf("summary: count=%zu digits=%llu checksum=%llu seconds=%.3f\n",
               o.count, (unsigned long long)digits, (unsigned long long)sum,
               secs);
        fflush(stdout);
    }
    /* A worker stops watching the root before the root may exit. */
    wd_stop();
    MPI_Barrier(MPI_COMM_WORLD);
    free(g_ids);
    free(o.ns);
    free(g_progress_env);
    mf_finalize();
    return rc;
}
