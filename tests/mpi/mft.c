/*
 * mft.c — harness of the multi-rank tests: scenarios, checks, standard
 * task functions and gates, with MPI ranks (mft_run) or on a local pool
 * (mft_run_local). See mft.h.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT (mft_mpi_yield) */

#include "mft.h"

#include <CUnit/Basic.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Tags on mft_ucomm. */
#define TAG_STARTED 11
#define TAG_RELEASE 12
/* Tag of task traffic on mft_comm (also used before open by user_traffic). */
#define TAG_USERSEND MFT_TAG_USERSEND

MPI_Comm mft_comm = MPI_COMM_NULL;
MPI_Comm mft_ucomm = MPI_COMM_NULL;
int mft_root, mft_rank, mft_size, mft_nw, mft_thread;
const char *mft_label = "";
mf_executor *mft_ex;
int mft_open_rc;
char mft_open_msg[4096];
long mft_expect_marks = -1;
int mft_force_progress_thread;
int mft_local;

mf_fn_id ID_ECHO, ID_ECHO_ZC, ID_MARK, ID_FAIL, ID_RETNZ, ID_EMPTY, ID_BIG,
    ID_GATE, ID_REPLACE, ID_SUM, ID_LONGFAIL, ID_USERSEND, ID_WHO, ID_FAILIF,
    ID_TASKAPI, ID_FAILRC, ID_INPLACE, ID_YIELDQ, ID_SLEEPMS, ID_STRLEN,
    ID_BUILD;
int mft_echo_ud;

static const mft_scenario *g_scns;
static size_t g_nscns, g_next_scn;
/* The scenarios registered as CUnit suites, in order (indexes into
 * g_scns; a local run leaves out the MPI-only ones). */
static size_t *g_run_idx, g_nrun;
static const mft_scenario *g_cur;
static int g_cunit_active;
static long g_wfail; /* failed checks on this rank */
static long g_marks; /* "mark" tasks run on this rank (scenario) */

/* Local pool: what the workers share with the root (see mft.h, Gates).
 * Made before the first pool opens, unmapped at the end of the run. */
#define POOL 256
#define MAXW_LOCAL 64 /* as MAXW in suite.h */
typedef struct mft_lgate {
    atomic_int id;      /* root: the gate's id (0: slot unused) */
    atomic_int started; /* task: its worker's number once started */
    atomic_int release; /* root: 0 held, else 1 + the release value */
} mft_lgate;
typedef struct mft_shared {
    atomic_long marks; /* "mark" tasks run (scenario) */
    mft_lgate gate[POOL];
} mft_shared;
static mft_shared *g_sh;

/* Local run: what was skipped, and the known library bugs met. */
static long g_tests_skipped;
enum { MAX_BUGS = 32 };
static struct {
    char bug[96];
    char where[160];
    long n;
} g_bugs[MAX_BUGS];
static int g_nbugs;

/* ---- Checks --------------------------------------------------------- */

double mft_now(void)
{
    struct timespec ts;
    if (!mft_local)
        return MPI_Wtime();
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *mft_backend(void)
{
    return mft_local == MF_PROCESSES ? "processes"
           : mft_local == MF_THREADS ? "threads"
                                     : "mpi";
}

int mft_open(const mf_executor_opts *o, mf_executor **ex)
{
    if (mft_local)
        return mf_executor_open_local(mft_local, mft_nw, o, ex);
    return mf_executor_open(mft_comm, mft_root, o, ex);
}

void mft_skip_test(const char *why)
{
    g_tests_skipped++;
    printf("(skipped on %s: %s) ", mft_backend(), why);
    fflush(stdout);
}

void mft_known_bug(int ok, const char *bug, const char *expr,
                   const char *file, int line)
{
    int i;
    if (ok) {
        printf("(known bug '%s' did not show: %s; fixed? drop the entry) ",
               bug, expr);
        fflush(stdout);
        return;
    }
    printf("(KNOWN LIBRARY BUG '%s': %s failed at %s:%d) ", bug, expr, file,
           line);
    fflush(stdout);
    for (i = 0; i < g_nbugs; i++)
        if (strcmp(g_bugs[i].bug, bug) == 0)
            break;
    if (i == g_nbugs) {
        if (g_nbugs == MAX_BUGS) {
            CU_FAIL("too many known bugs");
            return;
        }
        g_nbugs++;
        snprintf(g_bugs[i].bug, sizeof g_bugs[i].bug, "%s", bug);
        snprintf(g_bugs[i].where, sizeof g_bugs[i].where, "%s:%d", file,
                 line);
    }
    g_bugs[i].n++;
}

void mft_check(int ok, const char *expr, const char *file, int line)
{
    if (g_cunit_active) {
        CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, expr,
                                file, "", CU_FALSE);
        return;
    }
    if (!ok) {
        g_wfail++;
        fprintf(
            stderr, "[%s rank %d] scenario %s: CHECK failed: %s (%s:%d)\n",
            mft_label, mft_rank, g_cur ? g_cur->name : "?", expr, file, line);
        fflush(stderr);
    }
}

void mft_check_eq(long long a, long long b, const char *expr,
                  const char *file, int line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s (got %lld, want %lld)", expr, a, b);
    mft_check(a == b, buf, file, line);
}

int mft_assert_rc(int got, int want, const char *expr, const char *file,
                  int line)
{
    char buf[600];
    if (got == want) {
        CU_assertImplementation(CU_TRUE, (unsigned)line, expr, file, "",
                                CU_FALSE);
        return 1;
    }
    snprintf(buf, sizeof buf, "%s returned %s (%d), want %s [%s]", expr,
             mf_errname(got), got, mf_errname(want), mf_last_error());
    CU_assertImplementation(CU_FALSE, (unsigned)line, buf, file, "",
                            CU_FALSE);
    return 0;
}

int mft_contains(const char *s, const char *sub)
{
    return s && sub && strstr(s, sub) != NULL;
}

int mft_has_int_token(const char *s, long v)
{
    char num[32];
    size_t n;
    const char *p;
    if (!s)
        return 0;
    snprintf(num, sizeof num, "%ld", v);
    n = strlen(num);
    for (p = strstr(s, num); p; p = strstr(p + 1, num)) {
        int before = (p == s) || !(p[-1] >= '0' && p[-1] <= '9');
        int after = !(p[n] >= '0' && p[n] <= '9');
        if (before && after)
            return 1;
    }
    return 0;
}

/* ---- Standard task functions ---------------------------------------- */

static int my_rank_u(void)
{
    int r = -1;
    MPI_Comm_rank(mft_ucomm, &r);
    return r;
}

/* The identity of the worker running `task`: its rank in mft_ucomm (as
 * MPI sees it, which the library's reports must match), or its number in
 * a local pool. */
static int my_rank_t(const mf_task *task)
{
    return mft_local ? mf_task_worker(task) : my_rank_u();
}

static int t_echo(mf_task *task, void *ud)
{
    size_t len = 12345;
    const void *arg = mf_task_arg(task, &len);
    if (ud != &mft_echo_ud)
        return mf_task_fail(task, "echo: wrong userdata %p", ud);
    if (mf_task_function(task) != ID_ECHO)
        return mf_task_fail(task, "echo: wrong mf_task_function");
    if (!arg)
        return mf_task_fail(task, "echo: mf_task_arg gave NULL");
    if (((uintptr_t)arg) % 8 != 0)
        return mf_task_fail(task, "echo: argument not 8-byte aligned");
    if (mf_task_arg(task, NULL) != arg)
        return mf_task_fail(task, "echo: mf_task_arg(NULL len) differs");
    return mf_task_return(task, arg, len) == MF_OK
               ? 0
               : mf_task_fail(task, "echo: mf_task_return failed");
}

static int t_echo_zc(mf_task *task, void *ud)
{
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    void *buf = NULL;
    (void)ud;
    if (mf_task_function(task) != ID_ECHO_ZC)
        return mf_task_fail(task, "echo_zc: wrong mf_task_function");
    if (mf_task_result_buffer(task, len, &buf) != MF_OK)
        return mf_task_fail(task, "echo_zc: mf_task_result_buffer failed");
    if (len > 0 && (!buf || ((uintptr_t)buf) % 8 != 0))
        return mf_task_fail(task, "echo_zc: bad result buffer %p", buf);
    if (len > 0)
        memcpy(buf, arg, len);
    return 0;
}

int mft_mpi_yield(int set)
{
    bool (*fn)(bool) = NULL;
    void *p = dlsym(RTLD_DEFAULT, "opal_progress_set_yield_when_idle");
    memcpy(&fn, &p, sizeof p);
    if (!fn)
        return -1;
    if (set >= 0)
        return fn(set != 0);
    bool old = fn(false);
    (void)fn(old);
    return old;
}

static int g_yield_at_register = -1;

/* What a task sees of Open MPI's yield switch: the program's value, as
 * before the executor opened (the library turns it off only while it
 * polls). */
static int t_yieldq(mf_task *task, void *ud)
{
    int32_t v[2] = {mft_mpi_yield(-1), g_yield_at_register};
    (void)ud;
    return mf_task_return(task, v, sizeof v);
}

size_t mft_inplace_len(size_t n)
{
    return n - n % 5;
}

/* Reverse the argument in place, then return a prefix of it: exercises
 * mf_task_arg_inplace/mf_task_return_arg and their misuse. */
static int t_inplace(mf_task *task, void *ud)
{
    size_t len = 0, l2 = 0;
    unsigned char *a = mf_task_arg_inplace(task, &len);
    int rc;
    (void)ud;
    const void *ro = mf_task_arg(task, &l2);
    if (!a || l2 != len || (len && (const void *)a != ro))
        return mf_task_fail(task, "inplace: pointer %p, length %zu/%zu",
                            (void *)a, len, l2);
    if (len && ((uintptr_t)a) % 8 != 0)
        return mf_task_fail(task, "inplace: unaligned %p", (void *)a);
    if ((rc = mf_task_return_arg(task, len + 1)) != MF_EINVAL)
        return mf_task_fail(task, "return_arg(len + 1) gave %d", rc);
    if ((rc = mf_task_return_arg(NULL, 0)) != MF_EINVAL)
        return mf_task_fail(task, "return_arg(NULL) gave %d", rc);
    /* An earlier result is replaced (and freed: valgrind/ASan see it). */
    if ((rc = mf_task_return(task, "earlier", 8)) != MF_OK)
        return mf_task_fail(task, "mf_task_return gave %d", rc);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned char c = a[i];
        a[i] = a[len - 1 - i];
        a[len - 1 - i] = c;
    }
    return mf_task_return_arg(task, mft_inplace_len(len));
}

static int t_mark(mf_task *task, void *ud)
{
    int32_t r = my_rank_t(task);
    (void)ud;
    if (g_sh)
        atomic_fetch_add(&g_sh->marks, 1);
    else
        g_marks++;
    return mf_task_return(task, &r, sizeof r);
}

static void host_names(char *h, size_t hn, char *p, size_t pn)
{
    char pb[MPI_MAX_PROCESSOR_NAME + 1];
    int plen = 0;
    memset(pb, 0, sizeof pb);
    if (gethostname(h, hn) != 0)
        snprintf(h, hn, "?");
    h[hn - 1] = 0;
    if (mft_local) { /* MPI is not initialised: the host name */
        size_t n = strnlen(h, pn - 1);
        memcpy(p, h, n);
        p[n] = 0;
        return;
    }
    MPI_Get_processor_name(pb, &plen);
    snprintf(p, pn, "%s", pb);
}

static int t_fail(mf_task *task, void *ud)
{
    int32_t code = 0;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    char host[256], proc[MPI_MAX_PROCESSOR_NAME + 1];
    (void)ud;
    if (len >= sizeof code)
        memcpy(&code, arg, sizeof code);
    host_names(host, sizeof host, proc, sizeof proc);
    return mf_task_fail(task, "fail code=%d rank=%d host=%s proc=%s",
                        (int)code, my_rank_t(task), host, proc);
}

static int t_retnz(mf_task *task, void *ud)
{
    int32_t v = 7;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    (void)ud;
    if (len >= sizeof v)
        memcpy(&v, arg, sizeof v);
    return (int)v;
}

static int t_empty(mf_task *task, void *ud)
{
    (void)task;
    (void)ud;
    return 0;
}

uint64_t mft_pattern_word(uint64_t seed, uint64_t i)
{
    uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    return x;
}

static int t_big(mf_task *task, void *ud)
{
    uint64_t a[3] = {0, 0, 0};
    size_t len = 0, i, nw;
    const void *arg = mf_task_arg(task, &len);
    uint64_t *buf = NULL;
    (void)ud;
    if (len != sizeof a)
        return mf_task_fail(task, "big: bad argument length %zu", len);
    memcpy(a, arg, sizeof a);
    nw = (size_t)(a[0] / 8);
    if (a[2] == 0) {
        void *p = NULL;
        if (mf_task_result_buffer(task, (size_t)a[0], &p) != MF_OK)
            return mf_task_fail(task, "big: result buffer failed");
        buf = p;
        for (i = 0; i < nw; i++)
            buf[i] = mft_pattern_word(a[1], i);
        return 0;
    }
    buf = malloc((size_t)a[0] ? (size_t)a[0] : 1);
    if (!buf)
        return mf_task_fail(task, "big: malloc");
    for (i = 0; i < nw; i++)
        buf[i] = mft_pattern_word(a[1], i);
    if (mf_task_return(task, buf, (size_t)a[0]) != MF_OK) {
        free(buf);
        return mf_task_fail(task, "big: mf_task_return failed");
    }
    memset(buf, 0xEE, (size_t)a[0]); /* the result must be a copy */
    free(buf);
    return 0;
}

/* The local pool's gate: "started" and the release through the shared
 * slot named by the argument (see mft.h, Gates). Returns the release
 * value, or -1 after a failure set on the task. */
static int local_gate_wait(mf_task *task, const mft_gate_arg *a)
{
    struct timespec nap = {0, 200000};
    double deadline = mft_now() + 60.0;
    mft_lgate *s;
    int none = 0, v;
    if (!g_sh || a->pad < 0 || a->pad >= POOL ||
        atomic_load(&g_sh->gate[a->pad].id) != a->id) {
        mf_task_fail(task, "gate %d: bad slot %d", (int)a->id, (int)a->pad);
        return -1;
    }
    s = &g_sh->gate[a->pad];
    if (!atomic_compare_exchange_strong(&s->started, &none,
                                        mf_task_worker(task))) {
        mf_task_fail(task, "gate %d started twice", (int)a->id);
        return -1;
    }
    while ((v = atomic_load(&s->release)) == 0) {
        if (mft_now() > deadline) {
            mf_task_fail(task, "gate %d: not released in 60 s", (int)a->id);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
    return v - 1;
}

static int t_gate(mf_task *task, void *ud)
{
    mft_gate_arg a;
    mft_gate_res r;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    int id, v = -1;
    (void)ud;
    if (len != sizeof a)
        return mf_task_fail(task, "gate: bad argument length %zu", len);
    memcpy(&a, arg, sizeof a);
    id = a.id;
    if (mft_local) {
        if ((v = local_gate_wait(task, &a)) < 0)
            return MF_ETASK;
    } else {
        MPI_Send(&id, 1, MPI_INT, mft_root, TAG_STARTED, mft_ucomm);
        MPI_Recv(&v, 1, MPI_INT, mft_root, TAG_RELEASE, mft_ucomm,
                 MPI_STATUS_IGNORE);
    }
    if (v == MFT_GATE_FAIL)
        return mf_task_fail(task, "gate %d failed on request", id);
    r.id = id;
    r.rank = my_rank_t(task);
    return mf_task_return(task, &r, sizeof r);
}

/* Sleeps the uint32 argument's milliseconds, then returns it. */
static int t_sleepms(mf_task *task, void *ud)
{
    uint32_t ms = 0;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    struct timespec ts;
    (void)ud;
    if (len != sizeof ms)
        return mf_task_fail(task, "sleepms: bad argument length %zu", len);
    memcpy(&ms, arg, sizeof ms);
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0)
        ;
    return mf_task_return(task, &ms, sizeof ms);
}

/* The argument as a C string (mf_task_arg_str): its length as uint64, or
 * the library's refusal as the task's failure. */
static int t_strlen(mf_task *task, void *ud)
{
    const char *str = NULL;
    (void)ud;
    if (mf_task_arg_str(task, &str) != MF_OK)
        return mf_task_fail(task, "%s", mf_last_error());
    uint64_t n = strlen(str);
    return mf_task_return(task, &n, sizeof n);
}

/* Builds its result piece by piece: for k = uint32 argument, the text
 * "0,1,...,k-1;" with mf_task_printf, then k bytes 'x' one append at a
 * time. */
static int t_build(mf_task *task, void *ud)
{
    uint32_t k = 0;
    size_t len = 0;
    const void *a = mf_task_arg(task, &len);
    (void)ud;
    if (len != sizeof k)
        return mf_task_fail(task, "build: bad argument");
    memcpy(&k, a, sizeof k);
    for (uint32_t i = 0; i < k; i++)
        if (mf_task_printf(task, "%u%s", i, i + 1 < k ? "," : ";") != MF_OK)
            return mf_task_fail(task, "build: %s", mf_last_error());
    for (uint32_t i = 0; i < k; i++)
        if (mf_task_append(task, "x", 1) != MF_OK)
            return mf_task_fail(task, "build: %s", mf_last_error());
    return 0;
}

static int t_replace(mf_task *task, void *ud)
{
    uint8_t mode = 0;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    void *buf = NULL;
    (void)ud;
    if (len >= 1)
        memcpy(&mode, arg, 1);
    switch (mode) {
    case 0: /* return, return: the second wins */
        mf_task_return(task, "first", 6);
        return mf_task_return(task, "second", 7);
    case 1: /* buffer, then return: the return wins */
        if (mf_task_result_buffer(task, 6, &buf) != MF_OK)
            return mf_task_fail(task, "replace: buffer");
        memcpy(buf, "zcbuf", 6);
        return mf_task_return(task, "second", 7);
    case 2: /* return, then buffer: the buffer wins */
        mf_task_return(task, "first", 6);
        if (mf_task_result_buffer(task, 6, &buf) != MF_OK)
            return mf_task_fail(task, "replace: buffer");
        memcpy(buf, "zcbuf", 6);
        return 0;
    default: { /* return from a buffer the task scribbles over afterwards */
        char b[16];
        memcpy(b, "copied!", 8);
        if (mf_task_return(task, b, 8) != MF_OK)
            return mf_task_fail(task, "replace: return");
        memset(b, 'X', sizeof b);
        /* keep the scribble observable to the compiler */
        return b[3] == 'X' ? 0 : 1;
    }
    }
}

uint64_t mft_fnv(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int t_sum(mf_task *task, void *ud)
{
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    uint64_t r[2];
    (void)ud;
    r[0] = mft_fnv(arg, len);
    r[1] = (uint64_t)len;
    return mf_task_return(task, r, sizeof r);
}

static int t_longfail(mf_task *task, void *ud)
{
    char big[10001]; /* not static: a thread pool runs tasks at once */
    (void)ud;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    return mf_task_fail(task, "LONG:%s:END", big);
}

static int t_usersend(mf_task *task, void *ud)
{
    int32_t v = 0;
    int msg[2];
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    (void)ud;
    if (len >= sizeof v)
        memcpy(&v, arg, sizeof v);
    msg[0] = mft_rank;
    msg[1] = 1000 + (int)v;
    /* User traffic on the very communicator the executor was opened on. */
    MPI_Send(msg, 2, MPI_INT, mft_root, TAG_USERSEND, mft_comm);
    return mf_task_return(task, &msg[0], sizeof msg[0]);
}

static int t_failif(mf_task *task, void *ud)
{
    int32_t v = 0;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    (void)ud;
    if (len >= sizeof v)
        memcpy(&v, arg, sizeof v);
    if (v < 0)
        return mf_task_fail(task, "item failed v=%d", (int)v);
    return mf_task_return(task, &v, sizeof v);
}

/* Misuse of the task-side API from inside a task must give codes. */
static int t_taskapi(mf_task *task, void *ud)
{
    void *b = NULL;
    size_t len = 99;
    const void *a;
    int rc;
    (void)ud;
    if ((rc = mf_task_return(task, NULL, 5)) != MF_EINVAL)
        return mf_task_fail(task, "mf_task_return(NULL, 5) gave %d", rc);
    if ((rc = mf_task_result_buffer(task, 8, NULL)) != MF_EINVAL)
        return mf_task_fail(task, "mf_task_result_buffer(.., NULL) gave %d",
                            rc);
    if ((rc = mf_task_return(NULL, "x", 1)) != MF_EINVAL)
        return mf_task_fail(task, "mf_task_return(NULL task) gave %d", rc);
    if ((rc = mf_task_result_buffer(NULL, 8, &b)) != MF_EINVAL)
        return mf_task_fail(task, "mf_task_result_buffer(NULL task) gave %d",
                            rc);
    a = mf_task_arg(task, &len);
    if (!a || len != 0)
        return mf_task_fail(task, "empty argument: %p, %zu", a, len);
    if ((rc = mf_task_return(task, NULL, 0)) != MF_OK)
        return mf_task_fail(task, "mf_task_return(NULL, 0) gave %d", rc);
    return mf_task_return(task, "api-ok", 7);
}

/* mf_task_fail returns MF_ETASK. */
static int t_failrc(mf_task *task, void *ud)
{
    int rc = mf_task_fail(task, "plain failure %s", "here");
    (void)ud;
    if (rc != MF_ETASK)
        mf_task_fail(task, "mf_task_fail returned %d, not MF_ETASK", rc);
    return rc ? rc : 1;
}

static int t_who(mf_task *task, void *ud)
{
    int32_t r = my_rank_t(task);
    (void)ud;
    return mf_task_return(task, &r, sizeof r);
}

void mft_register_std(void)
{
    struct {
        const char *name;
        mf_task_fn fn;
        void *ud;
        mf_fn_id *id;
    } t[] = {
        {"echo", t_echo, &mft_echo_ud, &ID_ECHO},
        {"echo_zc", t_echo_zc, NULL, &ID_ECHO_ZC},
        {"mark", t_mark, NULL, &ID_MARK},
        {"fail", t_fail, NULL, &ID_FAIL},
        {"retnz", t_retnz, NULL, &ID_RETNZ},
        {"empty", t_empty, NULL, &ID_EMPTY},
        {"big", t_big, NULL, &ID_BIG},
        {"gate", t_gate, NULL, &ID_GATE},
        {"replace", t_replace, NULL, &ID_REPLACE},
        {"sum", t_sum, NULL, &ID_SUM},
        {"longfail", t_longfail, NULL, &ID_LONGFAIL},
        {"usersend", t_usersend, NULL, &ID_USERSEND},
        {"who", t_who, NULL, &ID_WHO},
        {"failif", t_failif, NULL, &ID_FAILIF},
        {"taskapi", t_taskapi, NULL, &ID_TASKAPI},
        {"failrc", t_failrc, NULL, &ID_FAILRC},
        {"inplace", t_inplace, NULL, &ID_INPLACE},
        {"yieldq", t_yieldq, NULL, &ID_YIELDQ},
        {"sleepms", t_sleepms, NULL, &ID_SLEEPMS},
        {"strlen", t_strlen, NULL, &ID_STRLEN},
        {"build", t_build, NULL, &ID_BUILD},
    };
    size_t i;
    /* (no MPI at all in a local run: nothing to ask) */
    g_yield_at_register = mft_local ? -1 : mft_mpi_yield(-1);
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        mf_fn_id id = 0;
        int rc = mf_register(t[i].name, t[i].fn, t[i].ud, &id);
        MFT_CHECK_EQ(rc, MF_OK);
        MFT_CHECK(id == mf_fn_id_of(t[i].name));
        *t[i].id = mf_fn_id_of(t[i].name);
    }
}

/* ---- Gates ---------------------------------------------------------- */

static mft_gate g_pool[POOL];
static size_t g_pool_used;
static int32_t g_next_gate_id = 1;

mft_gate *mft_gate_new(mft_gate_arg *arg)
{
    mft_gate *g;
    if (g_pool_used >= POOL) {
        CU_FAIL_FATAL("gate pool exhausted");
        return NULL;
    }
    g = &g_pool[g_pool_used++];
    memset(g, 0, sizeof *g);
    g->id = g_next_gate_id++;
    g->rank = -1;
    g->in_use = 1;
    if (g_sh) { /* a fresh shared slot, named by the argument */
        mft_lgate *s = &g_sh->gate[g_pool_used - 1];
        atomic_store(&s->started, 0);
        atomic_store(&s->release, 0);
        atomic_store(&s->id, g->id);
    }
    if (arg) {
        arg->id = g->id;
        arg->pad = g_sh ? (int32_t)(g_pool_used - 1) : 0;
    }
    return g;
}

int mft_gate_submit(mft_gate **out)
{
    mft_gate_arg a;
    mft_gate *g = mft_gate_new(&a);
    int rc = mf_submit(mft_ex, ID_GATE, &a, sizeof a, &g->f);
    *out = rc == MF_OK ? g : NULL;
    if (rc != MF_OK)
        g->in_use = 0;
    return rc;
}

/* Local pool: gates whose started word is set. */
static void local_gates_poll(void)
{
    size_t i;
    for (i = 0; i < g_pool_used; i++) {
        int w;
        if (!g_pool[i].in_use || g_pool[i].started)
            continue;
        if ((w = atomic_load(&g_sh->gate[i].started)) != 0) {
            g_pool[i].started = 1;
            g_pool[i].rank = w;
            /* mf_task_worker(): 1..N in a local pool */
            if (w < 1 || w > mft_nw)
                mft_check(0, "gate started on a worker number out of 1..N",
                          __FILE__, __LINE__);
        }
    }
}

void mft_gates_poll(void)
{
    if (g_sh) {
        local_gates_poll();
        return;
    }
    for (;;) {
        int flag = 0, id = -1;
        size_t i;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_STARTED, mft_ucomm, &flag, &st);
        if (!flag)
            return;
        MPI_Recv(&id, 1, MPI_INT, st.MPI_SOURCE, TAG_STARTED, mft_ucomm,
                 MPI_STATUS_IGNORE);
        for (i = 0; i < g_pool_used; i++)
            if (g_pool[i].in_use && g_pool[i].id == id)
                break;
        if (i == g_pool_used) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown gate %d started on rank %d",
                     id, st.MPI_SOURCE);
            mft_check(0, msg, __FILE__, __LINE__);
            continue;
        }
        if (g_pool[i].started)
            mft_check(0, "gate started twice", __FILE__, __LINE__);
        g_pool[i].started = 1;
        g_pool[i].rank = st.MPI_SOURCE;
    }
}

/* A pending future to make progress with when a test has none: an empty
 * task, resubmitted when it finishes. Owned by the harness. */
static mf_future g_drv;

static void lazy_progress(void)
{
    if (!mft_ex)
        return;
    if (g_drv.h && mf_future_done(g_drv)) {
        (void)mf_future_release(g_drv);
        g_drv.h = 0;
    }
    if (!g_drv.h && mf_submit(mft_ex, ID_EMPTY, NULL, 0, &g_drv) != MF_OK)
        g_drv.h = 0;
    if (g_drv.h)
        (void)mf_wait(&g_drv, 1, 0.002, MF_ALL_COMPLETED, NULL, NULL);
}

int mft_gates_started(mft_gate *const *gs, size_t n, const mf_future *drv,
                      size_t n_drv)
{
    mf_future futs[POOL + 64];
    size_t nf = 0, i;
    double deadline = mft_now() + 30.0;
    for (i = 0; i < n_drv && nf < POOL; i++)
        futs[nf++] = drv[i];
    for (i = 0; i < n && nf < POOL + 64; i++)
        if (gs[i] && gs[i]->f.h)
            futs[nf++] = gs[i]->f;
    for (;;) {
        size_t ok = 0;
        mft_gates_poll();
        for (i = 0; i < n; i++)
            if (gs[i] && gs[i]->started)
                ok++;
        if (ok == n)
            return 1;
        if (mft_now() > deadline) {
            fprintf(stderr, "[%s] gates: only %zu of %zu started in 30 s\n",
                    mft_label, ok, n);
            return 0;
        }
        if (nf > 0 && mf_wait(futs, nf, 0.002, MF_FIRST_COMPLETED, NULL,
                              NULL) == MF_ETIMEDOUT)
            continue;
        lazy_progress();
    }
}

void mft_gate_release(mft_gate *g, int32_t value)
{
    int v = value;
    if (!g || !g->started || g->released) {
        mft_check(0, "release of a gate that is not started/held", __FILE__,
                  __LINE__);
        return;
    }
    if (g_sh)
        atomic_store(&g_sh->gate[g - g_pool].release, v + 1);
    else
        MPI_Send(&v, 1, MPI_INT, g->rank, TAG_RELEASE, mft_ucomm);
    g->released = 1;
}

void mft_gates_cleanup(void)
{
    double deadline = mft_now() + 30.0;
    for (;;) {
        mf_future futs[POOL];
        size_t nf = 0, i;
        mft_gates_poll();
        for (i = 0; i < g_pool_used; i++) {
            mft_gate *g = &g_pool[i];
            if (!g->in_use || g->released)
                continue;
            if (g->started) {
                mft_gate_release(g, MFT_GATE_OK);
            } else if (g->f.h) {
                if (mf_future_cancel(g->f) == MF_OK || mf_future_done(g->f))
                    g->released = 1;
                else
                    futs[nf++] = g->f;
            }
            /* map gates that never started: the test owns them */
        }
        if (nf == 0 || mft_now() > deadline)
            return;
        if (mf_wait(futs, nf, 0.002, MF_FIRST_COMPLETED, NULL, NULL) !=
            MF_ETIMEDOUT)
            lazy_progress();
    }
}

static void gates_reset(void)
{
    size_t i;
    if (g_drv.h)
        (void)mf_future_release(g_drv);
    g_drv.h = 0;
    for (i = 0; i < g_pool_used; i++) {
        if (g_pool[i].f.h)
            (void)mf_future_release(g_pool[i].f);
        memset(&g_pool[i], 0, sizeof g_pool[i]);
        if (g_sh)
            atomic_store(&g_sh->gate[i].id, 0);
    }
    g_pool_used = 0;
}

int mft_occupy_all(mft_gate **gs)
{
    int i;
    for (i = 0; i < mft_nw; i++) {
        int rc = mft_gate_submit(&gs[i]);
        if (rc != MF_OK) {
            ASSERT_RC(rc, MF_OK);
            return 0;
        }
    }
    return mft_gates_started(gs, (size_t)mft_nw, NULL, 0);
}

int mft_progress_until(atomic_int *v, int at_least, const mf_future *drv,
                       size_t n)
{
    double deadline = mft_now() + 30.0;
    while (atomic_load(v) < at_least) {
        if (mft_now() > deadline)
            return 0;
        if (n == 0 || mf_wait(drv, n, 0.002, MF_FIRST_COMPLETED, NULL,
                              NULL) != MF_ETIMEDOUT)
            lazy_progress();
        mft_gates_poll();
    }
    return 1;
}

int mft_release_as_started(mft_gate *const *gs, size_t n)
{
    double deadline = mft_now() + 30.0;
    for (;;) {
        mf_future futs[POOL];
        size_t i, left = 0, nf = 0;
        mft_gates_poll();
        for (i = 0; i < n; i++) {
            if (gs[i]->released)
                continue;
            if (gs[i]->started)
                mft_gate_release(gs[i], MFT_GATE_OK);
            else {
                left++;
                if (gs[i]->f.h && nf < POOL)
                    futs[nf++] = gs[i]->f;
            }
        }
        if (left == 0)
            return 1;
        if (mft_now() > deadline) {
            fprintf(stderr, "[%s] gates: %zu never started\n", mft_label,
                    left);
            return 0;
        }
        if (nf == 0 || mf_wait(futs, nf, 0.002, MF_FIRST_COMPLETED, NULL,
                               NULL) != MF_ETIMEDOUT)
            lazy_progress();
    }
}

/* ---- Scenario driver ------------------------------------------------ */

static void scenario_begin(const mft_scenario *s)
{
    g_cur = s;
    g_marks = 0;
    if (g_sh)
        atomic_store(&g_sh->marks, 0);
    mf_registry_clear();
    mft_register_std();
    if (s->setup)
        s->setup();
}

static void save_open(int rc)
{
    mft_open_rc = rc;
    snprintf(mft_open_msg, sizeof mft_open_msg, "%s", mf_last_error());
}

static void t_open(void)
{
    const mft_scenario *s;
    mf_executor_opts o;
    mf_executor *ex = NULL;
    int rc;
    if (g_next_scn >= g_nrun) {
        CU_FAIL_FATAL("scenario bookkeeping");
        return;
    }
    s = &g_scns[g_run_idx[g_next_scn++]];
    scenario_begin(s);
    mft_expect_marks = -1;
    mft_ex = NULL;
    if (s->pre_open)
        s->pre_open();
    if (s->all_ranks) {
        s->all_ranks();
        return;
    }
    mf_executor_opts_init(&o);
    if (s->opts)
        s->opts(&o);
    if (mft_force_progress_thread)
        o.progress_thread = 1;
    rc = mft_open(s->opts || mft_force_progress_thread ? &o : NULL, &ex);
    save_open(rc);
    if (rc != s->expect_open) {
        char buf[512];
        snprintf(buf, sizeof buf, "open returned %s, want %s [%.400s]",
                 mf_errname(rc), mf_errname(s->expect_open), mft_open_msg);
        CU_assertImplementation(CU_FALSE, __LINE__, buf, __FILE__, "",
                                CU_FALSE);
    }
    if (s->expect_open == MF_OK) {
        CU_ASSERT_PTR_NOT_NULL(ex);
    } else {
        CU_ASSERT_PTR_NULL(ex);
    }
    if (rc == MF_OK && ex)
        CU_ASSERT_EQUAL(mf_executor_workers(ex), mft_nw);
    mft_ex = ex; /* closed by t_close whatever happened */
    if (s->after_open)
        s->after_open();
}

static void t_close(void)
{
    const mft_scenario *s = g_cur;
    long mine[2] = {0, 0}, sum[2] = {0, 0};
    if (mft_ex) {
        int rc;
        mft_gates_cleanup();
        rc = mf_executor_close(mft_ex);
        ASSERT_RC(rc, MF_OK);
        mft_ex = NULL;
    }
    gates_reset();
    if (s && s->post_close)
        s->post_close();
    if (g_sh) /* a local pool: no worker runs the harness */
        sum[1] = atomic_exchange(&g_sh->marks, 0);
    else
        MPI_Reduce(mine, sum, 2, MPI_LONG, MPI_SUM, mft_root, mft_comm);
    if (sum[0] != 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "%ld failed checks on worker ranks",
                 sum[0]);
        CU_assertImplementation(CU_FALSE, __LINE__, buf, __FILE__, "",
                                CU_FALSE);
    }
    if (mft_expect_marks >= 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "mark tasks run: %ld, want %ld", sum[1],
                 mft_expect_marks);
        CU_assertImplementation(sum[1] == mft_expect_marks, __LINE__, buf,
                                __FILE__, "", CU_FALSE);
    }
}

/* One CUnit suite for a scenario: open, its tests, close. */
static void cunit_add(const mft_scenario *s, const char *label)
{
    char name[160];
    CU_pSuite su;
    const mft_test *t;
    snprintf(name, sizeof name, "%s:%s", label, s->name);
    su = CU_add_suite(name, NULL, NULL);
    CU_add_test(su, "open", t_open);
    for (t = s->tests; t && t->name; t++)
        CU_add_test(su, t->name, t->fn);
    CU_add_test(su, "close", t_close);
}

/* Run the registered suites (nrun scenarios); returns the failures. */
static int cunit_run(const char *label, size_t nrun)
{
    int fails;
    g_nrun = nrun;
    g_cunit_active = 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    g_cunit_active = 0;
    fails =
        (int)(CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
              CU_get_number_of_suites_failed());
    if (mft_local)
        printf("\n[%s] local pool of %d workers: ", label, mft_nw);
    else
        printf("\n[%s] root %d of %d ranks: ", label, mft_root, mft_size);
    printf("%u asserts, %u failures, %u tests failed\n",
           CU_get_number_of_asserts(), CU_get_number_of_failures(),
           CU_get_number_of_tests_failed());
    fflush(stdout);
    if (g_next_scn != nrun) {
        fprintf(stderr, "[%s] only %zu of %zu scenarios ran\n", label,
                g_next_scn, nrun);
        fails++;
    }
    CU_cleanup_registry();
    return fails;
}

static void worker_scenario(const mft_scenario *s)
{
    long before = g_wfail;
    long mine[2], sum[2];
    scenario_begin(s);
    if (s->pre_open)
        s->pre_open();
    if (s->all_ranks) {
        s->all_ranks();
    } else {
        mf_executor_opts o;
        mf_executor *ex = (mf_executor *)&o; /* must be set to NULL */
        int rc;
        mf_executor_opts_init(&o);
        if (s->opts)
            s->opts(&o);
        if (mft_force_progress_thread)
            o.progress_thread = 1;
        rc = mf_executor_open(
            mft_comm, mft_root,
            s->opts || mft_force_progress_thread ? &o : NULL, &ex);
        save_open(rc);
        if (rc != s->expect_open) {
            char buf[600];
            snprintf(
                buf, sizeof buf, "worker open returned %s, want %s [%.400s]",
                mf_errname(rc), mf_errname(s->expect_open), mft_open_msg);
            mft_check(0, buf, __FILE__, __LINE__);
        }
        MFT_CHECK(ex == NULL);
        if (s->after_open)
            s->after_open();
    }
    if (s->post_close)
        s->post_close();
    mine[0] = g_wfail - before;
    mine[1] = g_marks;
    MPI_Reduce(mine, sum, 2, MPI_LONG, MPI_SUM, mft_root, mft_comm);
}

int mft_run(MPI_Comm comm, int root, const mft_scenario *scns, size_t n,
            const char *label)
{
    int fails = 0;
    mft_comm = comm;
    mft_root = root;
    mft_label = label;
    MPI_Comm_rank(comm, &mft_rank);
    MPI_Comm_size(comm, &mft_size);
    MPI_Query_thread(&mft_thread);
    mft_nw = mft_size - 1;
    MPI_Comm_dup(comm, &mft_ucomm);
    g_scns = scns;
    g_nscns = n;
    g_next_scn = 0;
    g_wfail = 0;
    if (mft_rank == root) {
        size_t i, nrun = 0;
        g_run_idx = calloc(n ? n : 1, sizeof *g_run_idx);
        if (!g_run_idx || CU_initialize_registry() != CUE_SUCCESS) {
            fprintf(stderr, "CUnit registry\n");
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        for (i = 0; i < n; i++) {
            g_run_idx[nrun++] = i;
            cunit_add(&scns[i], label);
        }
        fails = cunit_run(label, nrun);
        free(g_run_idx);
        g_run_idx = NULL;
    } else {
        size_t i;
        for (i = 0; i < n; i++)
            worker_scenario(&scns[i]);
        fails = (int)g_wfail;
    }
    g_cur = NULL;
    MPI_Comm_free(&mft_ucomm);
    return fails;
}

int mft_run_local(int kind, int nworkers, const mft_scenario *scns, size_t n,
                  const mft_mpi_only *skip, size_t nskip)
{
    const char *label;
    size_t i, k, nrun = 0;
    int fails = 0;
    if ((kind != MF_PROCESSES && kind != MF_THREADS) || nworkers < 1 ||
        nworkers > MAXW_LOCAL) {
        fprintf(stderr, "mft_run_local: kind %d, %d workers\n", kind,
                nworkers);
        return 1;
    }
    mft_local = kind;
    label = mft_backend();
    mft_comm = mft_ucomm = MPI_COMM_NULL;
    mft_root = mft_rank = 0;
    mft_nw = nworkers;
    mft_size = nworkers + 1;
    mft_thread = MPI_THREAD_MULTIPLE;
    mft_label = label;
    /* Before any pool opens: the process pool's workers inherit it. */
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_sh == MAP_FAILED) {
        g_sh = NULL;
        perror("mft_run_local: mmap");
        return 1;
    }
    memset(g_sh, 0, sizeof *g_sh);
    g_scns = scns;
    g_nscns = n;
    g_next_scn = 0;
    g_tests_skipped = 0;
    g_nbugs = 0;
    g_run_idx = calloc(n ? n : 1, sizeof *g_run_idx);
    if (!g_run_idx || CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit registry\n");
        return 1;
    }
    for (k = 0; k < nskip; k++) { /* every name must be in the list */
        for (i = 0; i < n; i++)
            if (strcmp(scns[i].name, skip[k].scenario) == 0)
                break;
        if (i == n) {
            fprintf(stderr,
                    "[%s] MPI-only scenario '%s' is not in the "
                    "list\n",
                    label, skip[k].scenario);
            fails++;
        }
    }
    for (i = 0; i < n; i++) {
        for (k = 0; k < nskip; k++)
            if (strcmp(scns[i].name, skip[k].scenario) == 0)
                break;
        if (k < nskip) {
            printf("[%s] scenario %s skipped: %s\n", label, scns[i].name,
                   skip[k].why);
            continue;
        }
        g_run_idx[nrun++] = i;
        cunit_add(&scns[i], label);
    }
    fflush(stdout);
    fails += cunit_run(label, nrun);
    free(g_run_idx);
    g_run_idx = NULL;
    printf("[%s] scenarios: %zu run, %zu skipped (MPI only); tests skipped "
           "inside scenarios: %ld\n",
           label, nrun, n - nrun, g_tests_skipped);
    if (g_nbugs == 0) {
        printf("[%s] known library bugs met: none\n", label);
    } else {
        long total = 0;
        for (i = 0; i < (size_t)g_nbugs; i++)
            total += g_bugs[i].n;
        printf("[%s] KNOWN LIBRARY BUGS met: %d (%ld failed checks, not "
               "counted as failures):\n",
               label, g_nbugs, total);
        for (i = 0; i < (size_t)g_nbugs; i++)
            printf("[%s]   %s: %ld failed check(s), first at %s\n", label,
                   g_bugs[i].bug, g_bugs[i].n, g_bugs[i].where);
    }
    fflush(stdout);
    g_cur = NULL;
    munmap(g_sh, sizeof *g_sh);
    g_sh = NULL;
    mft_local = 0;
    return fails;
}
