/*
 * cli.c — the command line of mf-factorial (see cli.h): options, the
 * integers of the arguments, --range, --from and the help text.
 *
 * Design: parsing is a plain loop over argv, one branch per option; the
 * options that take a value are checked in their own small functions,
 * so the loop reads as the list of options. Every error goes through
 * usage_error() and stops the parse: nothing is computed on bad input.
 * --from reads byte by byte into a fixed buffer, so no input can make
 * rank 0 grow without bound.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <mpifutures/gmp.h>

#include "common.h"
#include "factorial_math.h"

__extension__ typedef unsigned __int128 u128;

static const char usage_text[] =
    "usage: mpirun -n RANKS mf-factorial [options] [N...]\n"
    "       mf-factorial [options] [N...]    (one process: a local pool)\n"
    "\n"
    "Factorials of a set of integers, computed asynchronously by the worker\n"
    "ranks (rank 0 submits and collects), and one huge factorial split over\n"
    "all workers. Run alone (or on one rank), the workers are local\n"
    "processes, one per usable CPU (MF_WORKERS=N sets how many).\n"
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
    "  --workers N          run alone: N local workers (default: one per\n"
    "                       usable CPU; MF_WORKERS)\n"
    "  --threads            run alone: worker threads instead of processes\n"
    "                       (MF_BACKEND=threads)\n"
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

int usage_error(const char *fmt, ...)
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

void cli_init_limits(void)
{
    double phys = (double)phys_bytes();
    g_max_n = max_n_for_bytes(fmin(phys / 4, 1024.0 * 1024 * 1024 - 4096));
    g_max_huge = max_n_for_bytes(fmin(phys / 10, 400.0 * 1024 * 1024));
}

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

/* No arguments: the demo's integers and huge N. */
static int parse_demo(opts *o)
{
    o->demo = 1;
    int rc = parse_range(o, "1000:20000:2000");
    if (rc == EX_OK)
        rc = parse_range(o, "50000:200000:64");
    o->have_huge = 1;
    o->huge = 10000000;
    o->max_lines = 12;
    return rc;
}

static int parse_huge(opts *o, const char *val)
{
    uint64_t n;
    if (mff_parse_u64(val, &n) != 0)
        return bad_number("--huge", val, g_max_huge);
    if (n > g_max_huge)
        return usage_error("--huge %llu: the result would not fit in memory "
                           "(%.3g bytes; the limit here is N <= %llu)",
                           (unsigned long long)n, mff_fact_bits(n) / 8,
                           (unsigned long long)g_max_huge);
    if (o->have_huge)
        return usage_error("--huge given twice");
    o->have_huge = 1;
    o->huge = n;
    return EX_OK;
}

static int parse_chunk(opts *o, const char *val)
{
    uint64_t k;
    if (mff_parse_u64(val, &k) != 0 || k == 0 || k > 1000000)
        return usage_error("--chunk '%s': expected an integer in 1..1000000",
                           val);
    o->chunk = (size_t)k;
    return EX_OK;
}

/* --out DIR: created if missing; must be a writable directory. */
static int parse_out(opts *o, const char *val)
{
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
    return EX_OK;
}

/* An argument that is no option: one integer. */
static int parse_integer(opts *o, const char *a)
{
    uint64_t n;
    if (mff_parse_u64(a, &n) != 0)
        return bad_number("argument", a, g_max_n);
    return add_n(o, n, "argument");
}

int parse_args(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    if (argc <= 1)
        return parse_demo(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int rc = EX_OK;
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
            rc = parse_range(o, val);
        } else if (strcmp(a, "--from") == 0) {
            NEEDS_VALUE("--from");
            rc = parse_file(o, val);
        } else if (strcmp(a, "--huge") == 0) {
            NEEDS_VALUE("--huge");
            rc = parse_huge(o, val);
        } else if (strcmp(a, "--chunk") == 0) {
            NEEDS_VALUE("--chunk");
            rc = parse_chunk(o, val);
        } else if (strcmp(a, "--out") == 0) {
            NEEDS_VALUE("--out");
            rc = parse_out(o, val);
        } else if (strcmp(a, "--ordered") == 0) {
            o->ordered = 1;
        } else if (strcmp(a, "--print") == 0) {
            o->print = 1;
        } else if (strcmp(a, "--check") == 0) {
            o->check = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "--workers") == 0) {
            NEEDS_VALUE("--workers");
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 4096)
                return usage_error("--workers: '%s' is not a whole number "
                                   "from 1 to 4096",
                                   val);
            o->workers = (int)n;
        } else if (strcmp(a, "--threads") == 0) {
            o->threads = 1;
        } else if (a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
            return usage_error("unknown option '%s'", a);
        } else {
            rc = parse_integer(o, a);
        }
#undef NEEDS_VALUE
        if (rc)
            return rc;
    }
    if (o->count == 0 && !o->have_huge)
        return usage_error(
            "no integers given (N..., --range, --from or --huge)");
    return EX_OK;
}
