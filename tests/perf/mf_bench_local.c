/*
 * mf-bench-local — the local pools (mf_executor_open_local: MF_THREADS and
 * MF_PROCESSES, 2 workers each) against a plain pthread pool written here
 * (one mutex, two condition variables, a linked queue: what a C
 * programmer writes in an afternoon), measured in the same run, in blocks
 * that alternate with the library's own blocks (the order flips every
 * round), so both see the machine in the same state. Every result is
 * checked; a wrong one makes the program exit 1.
 *
 *   mf-bench-local [--quick|--smoke] [--rounds N] [--idle S]
 *                  [--figures FILE] [--only KEY] [--corrupt]
 *   mpirun -n 3 mf-bench-local --mpi [--quick|--smoke] [--rounds N]
 *                  [--figures FILE]
 *
 * Plain (no launcher, MPI never initialised), rows:
 *   round trip  one task at a time: submit + result + release; the
 *               median per-task time of a block, and the mean
 *   submit all  N tasks submitted, then each result taken in order and
 *               released: tasks/s
 *   map         mf_map_array over N items, chunksize C (each chunk is one
 *               task on the wire): tasks/s; the pthread pool runs the same
 *               chunks as jobs
 *   echo        a 1 MiB argument whose first and last words the task
 *               edits in place and returns (mf_task_arg_inplace +
 *               mf_task_return_arg), one at a time: median round trip;
 *               the pthread pool edits the caller's buffer through a
 *               pointer (no copy: the floor), mf_submit copies it once
 *   idle CPU    no task for S seconds (default 1) right after a burst:
 *               the CPU of the process and, for processes, of its workers
 *               (/proc/PID/schedstat, found by tasks that return getpid());
 *               and the same while the caller waits in mf_future_result()
 *               on one task that sleeps S seconds
 * Tasks take an 8-byte index t and answer mix(t) (8 bytes), a few
 * nanoseconds of work: "empty" tasks whose every answer is checked.
 *
 * --mpi (under mpirun, 3 ranks = 2 workers): the round trip, submit-all
 * and map rows of the local process pool (2 workers forked by rank 0)
 * against the MPI backend (mf_executor_open on MPI_COMM_WORLD), blocks
 * interleaved in the same run; ranks 1..n-1 wait in a sleeping barrier
 * while the process pool runs.
 *
 * The ratio column is the median over rounds of the per-round ratio (each
 * round pairs one block of ours with one baseline block), higher is
 * better for mpifutures, with its min-max over rounds. --figures writes
 * "key ours baseline ratio min max" lines for scripts/bench-local;
 * --only KEY runs the rows whose key (thread_rtt, proc_map, _idle, ...)
 * holds KEY.
 * --corrupt makes task 3 of every block (both sides) answer wrong: the
 * run must then fail (a CTest checks that every block noticed).
 */
#define _GNU_SOURCE
#include <mpifutures.h>

#include "bench_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NW 2 /* workers of every pool */
#define MAXROUNDS 16

static int level = 2; /* 0 smoke, 1 quick, 2 full */
static int corrupt, mpi_mode, rank, size = 1;
static long wrong;      /* wrong results seen */
static long undetected; /* --corrupt: blocks that saw no wrong result */
static double idle_s = 1.0;
static FILE *figures;
static const char *only; /* --only: rows whose key holds this */
static mf_fn_id id_tiny, id_pid, id_sleep, id_echo;

/* The payload of the echo rows: 1 MiB, the task edits two words in
 * place and hands the same buffer back. */
#define ECHO_BYTES ((size_t)1 << 20)

#define CHECK(x)                                                             \
    do {                                                                     \
        int rc_ = (x);                                                       \
        if (rc_ != MF_OK) {                                                  \
            fprintf(stderr, "mf-bench-local: %s failed: %s (%s)\n", #x,      \
                    mf_errname(rc_), mf_last_error());                       \
            fail_hard();                                                     \
        }                                                                    \
    } while (0)

static void fail_hard(void)
{
    if (mpi_mode)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* ---- helpers ------------------------------------------------------------
 */

/* CPU seconds of process `pid` (single-threaded: a worker process):
 * /proc/PID/schedstat (nanoseconds) where the kernel keeps it, else the
 * tick-rounded utime + stime of /proc/PID/stat. -1 if it is gone. */
static double pid_cpu(int pid)
{
    char path[64];
    unsigned long long ns = 0, ut = 0, st = 0;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    if ((f = fopen(path, "r")) != NULL) {
        int ok = fscanf(f, "%llu", &ns) == 1;
        fclose(f);
        if (ok && ns > 0)
            return (double)ns * 1e-9;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The work of task t (both sides). */
static uint64_t answer(uint64_t t)
{
    return mix(t) + (uint64_t)(corrupt && t == 3);
}

static void bad(const char *what, uint64_t t)
{
    if (wrong++ < 5)
        fprintf(stderr, "mf-bench-local: wrong result (%s), task %llu\n",
                what, (unsigned long long)t);
}

/* After each block: with --corrupt, a block that found nothing wrong is a
 * defect of the benchmark. */
static void block_done(long before, const char *what)
{
    if (corrupt && wrong == before) {
        undetected++;
        fprintf(stderr, "mf-bench-local: %s missed a wrong result\n", what);
    }
}

static int want(const char *key)
{
    return !only || strstr(key, only) != NULL;
}

/* Counts by level: smoke, quick, full. */
static long pick(long smoke, long quick, long full)
{
    return level == 0 ? smoke : level == 1 ? quick : full;
}

/* One table row: medians of both sides, and the median (min-max) of the
 * per-round ratio, oriented so that higher is better for mpifutures. A
 * ratio with a figure below `eps` (idle CPU within measuring error) is
 * not printed: it would divide by noise. */
static void row(const char *key, const char *name, const double *ours,
                const double *base, int n, const char *fmt, double scale,
                int higher_better, double eps)
{
    double r[MAXROUNDS] = {0}, lo = 1e300, hi = 0;
    double mo = median(ours, n), mb = median(base, n);
    char a[32], b[32], c[40];
    for (int i = 0; i < n; i++) {
        r[i] = higher_better ? ours[i] / base[i] : base[i] / ours[i];
        lo = r[i] < lo ? r[i] : lo;
        hi = r[i] > hi ? r[i] : hi;
    }
    double mr = median(r, n);
    snprintf(a, sizeof a, fmt, mo * scale);
    snprintf(b, sizeof b, fmt, mb * scale);
    if (mo < eps || mb < eps)
        snprintf(c, sizeof c, "n/a (%s ~0)", mo < eps ? "both" : "base");
    else if (n > 1)
        snprintf(c, sizeof c, "%5.2fx (%.2f-%.2f)", mr, lo, hi);
    else
        snprintf(c, sizeof c, "%5.2fx", mr);
    printf("| %-58s | %14s | %14s | %19s |\n", name, a, b, c);
    fflush(stdout);
    if (figures) {
        if (mo < eps || mb < eps)
            mr = lo = hi = 0;
        fprintf(figures, "%s %.6g %.6g %.4f %.4f %.4f\n", key, mo * scale,
                mb * scale, mr, lo, hi);
    }
}

/* ---- task functions ------------------------------------------------------
 */

/* Argument t (8 bytes); result answer(t) (8 bytes). Map items too. */
static int t_tiny(mf_task *task, void *ud)
{
    uint64_t t, r;
    size_t len;
    const void *p = mf_task_arg(task, &len);
    (void)ud;
    if (len != sizeof t)
        return mf_task_fail(task, "bad argument");
    memcpy(&t, p, sizeof t);
    r = answer(t);
    return mf_task_return(task, &r, sizeof r);
}

/* {pid, worker number}, after 50 us of this thread's CPU, so that a burst
 * of them spreads over the workers. */
static int t_pid(mf_task *task, void *ud)
{
    int32_t p[2] = {(int32_t)getpid(), (int32_t)mf_task_worker(task)};
    struct timespec ts;
    (void)ud;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    double t0 = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9, t;
    do {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        t = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    } while (t - t0 < 50e-6);
    return mf_task_return(task, p, sizeof p);
}

/* Echo: the argument's first and last words through answer(), in place,
 * and the same buffer back as the result (mf_task_return_arg: from 32
 * KiB it travels back without a copy where the transport allows). */
static int t_echo(mf_task *task, void *ud)
{
    size_t len;
    uint64_t *w = mf_task_arg_inplace(task, &len);
    (void)ud;
    if (len < 2 * sizeof *w || len % sizeof *w)
        return mf_task_fail(task, "bad argument");
    w[0] = answer(w[0]);
    w[len / sizeof *w - 1] = answer(w[len / sizeof *w - 1]);
    return mf_task_return_arg(task, len);
}

/* Sleeps the given seconds (a double): a task that takes no CPU. */
static int t_sleep(mf_task *task, void *ud)
{
    double s;
    size_t len;
    const void *p = mf_task_arg(task, &len);
    (void)ud;
    if (len != sizeof s)
        return mf_task_fail(task, "bad argument");
    memcpy(&s, p, sizeof s);
    sleep_s(s);
    return 0;
}

/* ---- the baseline: a plain mutex + condition-variable pthread pool -------
 */

typedef struct pjob {
    struct pjob *next;
    uint64_t arg;         /* single task: its t */
    const uint64_t *args; /* chunk: n arguments (NULL: single task) */
    size_t n;
    uint64_t res;  /* single task's answer */
    uint64_t *out; /* chunk's answers, allocated by the worker */
    double sleep;  /* > 0: a sleeping job */
    uint64_t *buf; /* echo: the caller's buffer, edited in place */
    size_t nw;     /* its words */
    int done;
} pjob;

typedef struct ppool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t done; /* a job finished */
    pjob *head, *tail;
    int idle;    /* workers waiting on `work` */
    int waiting; /* callers waiting on `done` */
    int stop;
    pthread_t th[NW];
} ppool;

static void *pp_worker(void *arg)
{
    ppool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        pjob *j = p->head;
        if (!j)
            break; /* stop, and nothing left */
        if (!(p->head = j->next))
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        if (j->sleep > 0) {
            sleep_s(j->sleep);
        } else if (j->buf) {
            j->buf[0] = answer(j->buf[0]);
            j->buf[j->nw - 1] = answer(j->buf[j->nw - 1]);
        } else if (j->args) {
            j->out = malloc(j->n * sizeof *j->out);
            if (j->out)
                for (size_t i = 0; i < j->n; i++)
                    j->out[i] = answer(j->args[i]);
        } else {
            j->res = answer(j->arg);
        }
        pthread_mutex_lock(&p->mu);
        j->done = 1;
        if (p->waiting)
            pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static ppool *pp_open(void)
{
    ppool *p = calloc(1, sizeof *p);
    if (!p)
        fail_hard();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < NW; i++)
        if (pthread_create(&p->th[i], NULL, pp_worker, p) != 0)
            fail_hard();
    return p;
}

static void pp_close(ppool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < NW; i++)
        pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Queue job j. */
static void pp_push(ppool *p, pjob *j)
{
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (p->idle)
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* Queue a job (allocated here, as a future would be). */
static pjob *pp_submit(ppool *p, uint64_t arg, const uint64_t *args, size_t n,
                       double sleep)
{
    pjob *j = calloc(1, sizeof *j);
    if (!j)
        fail_hard();
    j->arg = arg;
    j->args = args;
    j->n = n;
    j->sleep = sleep;
    pp_push(p, j);
    return j;
}

static void pp_wait(ppool *p, pjob *j)
{
    pthread_mutex_lock(&p->mu);
    while (!j->done) {
        p->waiting++;
        pthread_cond_wait(&p->done, &p->mu);
        p->waiting--;
    }
    pthread_mutex_unlock(&p->mu);
}

/* ---- the sides -----------------------------------------------------------
 */

enum side { S_THREADS, S_PROCS, S_PTHREAD, S_MPI };
static const char *side_name[] = {"thread pool", "process pool",
                                  "pthread pool", "MPI backend"};

typedef struct runner {
    int side;
    mf_executor *ex; /* the library's sides */
    ppool *pp;       /* S_PTHREAD */
} runner;

/* A barrier that sleeps (--mpi): ranks that wait while the root runs a
 * process-pool block must not take CPU from it. */
static void idle_barrier(void)
{
    MPI_Request r;
    int done = 0;
    double us = 1;
    MPI_Ibarrier(MPI_COMM_WORLD, &r);
    for (;;) {
        MPI_Test(&r, &done, MPI_STATUS_IGNORE);
        if (done)
            break;
        sleep_s(us * 1e-6);
        us = us < 1000 ? 2 * us : 1000;
    }
}

/* Opens a side; 0 on a rank with nothing to do (an MPI worker, once it
 * has served; the other ranks during a process-pool block). */
static int side_open(int side, runner *r)
{
    memset(r, 0, sizeof *r);
    r->side = side;
    if (mpi_mode)
        idle_barrier();
    switch (side) {
    case S_PTHREAD:
        r->pp = pp_open();
        return 1;
    case S_MPI:
        CHECK(mf_executor_open(MPI_COMM_WORLD, 0, NULL, &r->ex));
        return r->ex != NULL;
    default:
        if (rank != 0)
            return 0;
        CHECK(mf_executor_open_local(side == S_THREADS ? MF_THREADS
                                                       : MF_PROCESSES,
                                     mpi_mode ? size - 1 : NW, NULL, &r->ex));
        return 1;
    }
}

static void side_close(runner *r)
{
    if (r->pp)
        pp_close(r->pp);
    if (r->ex)
        CHECK(mf_executor_close(r->ex));
}

/* ---- workloads (one block each; the caller opened the side) --------------
 */

/* One task at a time, `reps` times: the median seconds per round trip,
 * and the mean in *mean (what a loop of them takes per task: it counts
 * the slow ones, which a loaded machine makes many of). */
static double wl_rtt(runner *r, long reps, double *mean)
{
    double sum = 0;
    double *lat = malloc((size_t)reps * sizeof *lat);
    long before = wrong;
    if (!lat)
        fail_hard();
    for (long i = 0; i < reps; i++) {
        uint64_t t = (uint64_t)i, got = 0;
        double t0 = now();
        if (r->pp) {
            pjob *j = pp_submit(r->pp, t, NULL, 0, 0);
            pp_wait(r->pp, j);
            got = j->res;
            free(j);
        } else {
            mf_future f;
            CHECK(mf_submit(r->ex, id_tiny, &t, sizeof t, &f));
            CHECK(mf_future_result_into(f, MF_FOREVER, &got, sizeof got));
            CHECK(mf_future_release(f));
        }
        lat[i] = now() - t0;
        sum += lat[i];
        if (got != mix(t))
            bad("round trip", t);
    }
    qsort(lat, (size_t)reps, sizeof *lat, cmp_double);
    double med = lat[reps / 2];
    *mean = sum / (double)reps;
    free(lat);
    block_done(before, "round-trip block");
    return med;
}

/* Submit n tasks, then take each result in order and release it:
 * tasks/s. */
static double wl_submit(runner *r, long n)
{
    mf_future *fs = malloc((size_t)n * sizeof *fs);
    pjob **js = malloc((size_t)n * sizeof *js);
    long before = wrong;
    if (!fs || !js)
        fail_hard();
    double t0 = now();
    for (long i = 0; i < n; i++) {
        uint64_t t = (uint64_t)i;
        if (r->pp)
            js[i] = pp_submit(r->pp, t, NULL, 0, 0);
        else
            CHECK(mf_submit(r->ex, id_tiny, &t, sizeof t, &fs[i]));
    }
    for (long i = 0; i < n; i++) {
        uint64_t got = 0;
        if (r->pp) {
            pp_wait(r->pp, js[i]);
            got = js[i]->res;
            free(js[i]);
        } else {
            CHECK(mf_future_result_into(fs[i], MF_FOREVER, &got, sizeof got));
            CHECK(mf_future_release(fs[i]));
        }
        if (got != mix((uint64_t)i))
            bad("submit all", (uint64_t)i);
    }
    double dt = now() - t0;
    free(fs);
    free(js);
    block_done(before, "submit-all block");
    return (double)n / dt;
}

/* n items 0..n-1 in chunks of cs: mf_map_array (ordered) against the
 * pthread pool running the same chunks as jobs: tasks (items)/s. */
static double wl_map(runner *r, const uint64_t *args, long n, long cs)
{
    long nj = (n + cs - 1) / cs, before = wrong;
    pjob **js = malloc((size_t)nj * sizeof *js);
    if (!js)
        fail_hard();
    double t0 = now();
    if (r->pp) {
        for (long k = 0; k < nj; k++) {
            long len = n - k * cs < cs ? n - k * cs : cs;
            js[k] = pp_submit(r->pp, 0, args + k * cs, (size_t)len, 0);
        }
        for (long k = 0; k < nj; k++) {
            pp_wait(r->pp, js[k]);
            if (!js[k]->out)
                fail_hard();
            for (size_t i = 0; i < js[k]->n; i++)
                if (js[k]->out[i] != mix(js[k]->args[i]))
                    bad("pthread chunk", js[k]->args[i]);
            free(js[k]->out);
            free(js[k]);
        }
    } else {
        mf_map_opts o;
        mf_map_iter *it;
        const void *d;
        size_t len, idx;
        long got = 0;
        int rc;
        mf_map_opts_init(&o);
        o.chunksize = (size_t)cs;
        CHECK(mf_map_array(r->ex, id_tiny, args, (size_t)n, sizeof *args, &o,
                           &it));
        while ((rc = mf_map_next(it, &d, &len, &idx)) == MF_OK) {
            uint64_t v = 0;
            if (len == sizeof v)
                memcpy(&v, d, sizeof v);
            if (idx != (size_t)got || len != sizeof v || v != mix(args[idx]))
                bad("map", (uint64_t)idx);
            got++;
        }
        if (rc != MF_EDONE || got != n) {
            fprintf(stderr,
                    "mf-bench-local: map ended (%s) after %ld of %ld "
                    "items\n",
                    mf_errname(rc), got, n);
            bad("map ended early", (uint64_t)got);
        }
        mf_map_free(it);
    }
    double dt = now() - t0;
    free(js);
    block_done(before, "map block");
    return (double)n / dt;
}

/* One 1 MiB echo at a time, `reps` times: the median seconds per round
 * trip. The library's side copies the caller's buffer once at the submit
 * (mf_submit's contract: the caller may reuse it at once) and reads the
 * result where it lies; the pthread pool is handed a pointer to the
 * caller's buffer and edits it there: no copy at all, the floor. */
static double wl_echo(runner *r, long reps)
{
    size_t nw = ECHO_BYTES / sizeof(uint64_t);
    uint64_t *buf = malloc(ECHO_BYTES);
    double *lat = malloc((size_t)reps * sizeof *lat);
    long before = wrong;
    if (!buf || !lat)
        fail_hard();
    for (size_t i = 0; i < nw; i++)
        buf[i] = i;
    for (long i = 0; i < reps; i++) {
        uint64_t t = (uint64_t)i * 2, a, z;
        buf[0] = t;
        buf[nw - 1] = t + 1;
        double t0 = now();
        if (r->pp) {
            pjob *j = calloc(1, sizeof *j);
            if (!j)
                fail_hard();
            j->buf = buf;
            j->nw = nw;
            pp_push(r->pp, j);
            pp_wait(r->pp, j);
            free(j);
            a = buf[0];
            z = buf[nw - 1];
        } else {
            mf_future f;
            const void *res;
            size_t len = 0;
            CHECK(mf_submit(r->ex, id_echo, buf, ECHO_BYTES, &f));
            CHECK(mf_future_result(f, MF_FOREVER, &res, &len));
            if (len != ECHO_BYTES)
                fail_hard();
            a = ((const uint64_t *)res)[0];
            z = ((const uint64_t *)res)[nw - 1];
            CHECK(mf_future_release(f));
        }
        lat[i] = now() - t0;
        if (a != mix(t) || z != mix(t + 1))
            bad("echo", t);
    }
    qsort(lat, (size_t)reps, sizeof *lat, cmp_double);
    double med = lat[reps / 2];
    free(lat);
    free(buf);
    block_done(before, "echo block");
    return med;
}

/* ---- comparisons ---------------------------------------------------------
 */

enum wl { W_RTT, W_SUBMIT, W_MAP, W_ECHO };

/* `rounds` rounds (and a warm-up) of one block of side `a` and one of side
 * `b`, the order flipping every round; then the row (rank 0). */
static void compare(const char *key, const char *name, int a, int b, int wl,
                    int rounds)
{
    long reps = pick(200, 3000, 20000), n = pick(2000, 50000, 200000);
    long mn = pick(20000, 500000, 2000000), cs = 1000;
    double ours[MAXROUNDS] = {0}, base[MAXROUNDS] = {0};
    double ours_mean[MAXROUNDS] = {0}, base_mean[MAXROUNDS] = {0};
    uint64_t *args = NULL;
    if (!want(key))
        return;
    if (wl == W_MAP) {
        if (!(args = malloc((size_t)mn * sizeof *args)))
            fail_hard();
        for (long i = 0; i < mn; i++)
            args[i] = (uint64_t)i;
    }
    for (int rd = -1; rd < rounds; rd++) /* round -1 warms up */
        for (int k = 0; k < 2; k++) {
            int s = (k ^ (rd & 1)) ? b : a;
            runner r;
            double v = 0, mean = 0;
            if (!side_open(s, &r))
                continue;
            if (rank == 0)
                v = wl == W_RTT      ? wl_rtt(&r, reps, &mean)
                    : wl == W_SUBMIT ? wl_submit(&r, n)
                    : wl == W_ECHO   ? wl_echo(&r, pick(20, 300, 1000))
                                     : wl_map(&r, args, mn, cs);
            side_close(&r);
            if (rd >= 0) {
                (s == a ? ours : base)[rd] = v;
                (s == a ? ours_mean : base_mean)[rd] = mean;
            }
        }
    free(args);
    if (rank != 0)
        return;
    char full[120], key2[64];
    if (wl == W_RTT) {
        snprintf(full, sizeof full, "%s, median of %ld", name, reps);
        row(key, full, ours, base, rounds, "%.2f us", 1e6, 0, 0);
        snprintf(full, sizeof full, "%s, mean", name);
        snprintf(key2, sizeof key2, "%s_mean", key);
        row(key2, full, ours_mean, base_mean, rounds, "%.2f us", 1e6, 0, 0);
    } else if (wl == W_ECHO) {
        snprintf(full, sizeof full, "%s, median of %ld", name,
                 pick(20, 300, 1000));
        row(key, full, ours, base, rounds, "%.1f us", 1e6, 0, 0);
    } else if (wl == W_SUBMIT) {
        snprintf(full, sizeof full, "%s, %ld tasks", name, n);
        row(key, full, ours, base, rounds, "%.3g/s", 1, 1, 0);
    } else {
        snprintf(full, sizeof full, "%s, %ld items, chunksize %ld", name, mn,
                 cs);
        row(key, full, ours, base, rounds, "%.3g/s", 1, 1, 0);
    }
}

/* The worker processes' pids, from a burst of t_pid tasks (bounded: 200
 * bursts); 0 when found. Threads share this process's pid. */
static int find_workers(mf_executor *ex, int *pid)
{
    int nw = mf_executor_workers(ex), found = 0;
    for (int burst = 0; burst < 200 && found < nw; burst++) {
        mf_future f[8];
        for (int i = 0; i < 8; i++)
            CHECK(mf_submit(ex, id_pid, NULL, 0, &f[i]));
        for (int i = 0; i < 8; i++) {
            int32_t p[2];
            CHECK(mf_future_result_into(f[i], MF_FOREVER, p, sizeof p));
            CHECK(mf_future_release(f[i]));
            if (p[1] >= 1 && p[1] <= nw && pid[p[1] - 1] == 0) {
                pid[p[1] - 1] = p[0];
                found++;
            }
        }
    }
    return found == nw ? 0 : -1;
}

/* CPU seconds of the side so far: this process's, and its workers'. */
static double side_cpu(const int *pid, int n)
{
    double c = cpu_seconds();
    for (int i = 0; i < n; i++) {
        double w = pid_cpu(pid[i]);
        if (w < 0) {
            fprintf(stderr, "mf-bench-local: worker process %d is gone\n",
                    pid[i]);
            fail_hard();
        }
        c += w;
    }
    return c;
}

/* Idle CPU of one side, in % of one core: (a) no task for idle_s seconds
 * right after a burst (the caller sleeps outside the library); (b) the
 * caller waits in mf_future_result() (pp_wait) on one task that sleeps
 * idle_s seconds. */
static void idle_side(int side, double *none, double *waiting)
{
    runner r;
    int pid[NW] = {0}, np = 0;
    side_open(side, &r);
    if (r.ex) {
        if (find_workers(r.ex, pid) != 0) {
            fprintf(stderr,
                    "mf-bench-local: could not reach every worker "
                    "of the %s\n",
                    side_name[side]);
            fail_hard();
        }
        np = side == S_PROCS ? NW : 0;
    } else {
        for (int i = 0; i < 8; i++) { /* the same burst */
            pjob *j = pp_submit(r.pp, (uint64_t)i, NULL, 0, 0);
            pp_wait(r.pp, j);
            if (j->res != mix((uint64_t)i))
                bad("pthread idle burst", (uint64_t)i);
            free(j);
        }
    }
    double c0 = side_cpu(pid, np), t0 = now();
    sleep_s(idle_s);
    double c1 = side_cpu(pid, np), t1 = now();
    *none = (c1 - c0) / (t1 - t0);
    if (r.ex) {
        mf_future f;
        CHECK(mf_submit(r.ex, id_sleep, &idle_s, sizeof idle_s, &f));
        CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
        CHECK(mf_future_release(f));
    } else {
        pjob *j = pp_submit(r.pp, 0, NULL, 0, idle_s);
        pp_wait(r.pp, j);
        free(j);
    }
    double c2 = side_cpu(pid, np), t2 = now();
    *waiting = (c2 - c1) / (t2 - t1);
    side_close(&r);
}

static void idle_rows(void)
{
    double none[3], waiting[3];
    if (!want("thread_idle") && !want("proc_idle") && !want("thread_wait") &&
        !want("proc_wait"))
        return;
    /* (one round each: a round is idle_s seconds, twice) */
    idle_side(S_THREADS, &none[0], &waiting[0]);
    idle_side(S_PTHREAD, &none[2], &waiting[2]);
    idle_side(S_PROCS, &none[1], &waiting[1]);
    const double eps = 0.0005; /* 0.05% of a core: measuring error */
    char name[120];
    snprintf(name, sizeof name, "thread pool: idle CPU, no task, %.1f s",
             idle_s);
    row("thread_idle", name, &none[0], &none[2], 1, "%.3f%%", 100, 0, eps);
    snprintf(name, sizeof name,
             "process pool: idle CPU (root + workers), no task, %.1f s",
             idle_s);
    row("proc_idle", name, &none[1], &none[2], 1, "%.3f%%", 100, 0, eps);
    snprintf(name, sizeof name,
             "thread pool: CPU while result() waits on a %.1f s sleep",
             idle_s);
    row("thread_wait", name, &waiting[0], &waiting[2], 1, "%.3f%%", 100, 0,
        eps);
    snprintf(name, sizeof name,
             "process pool: CPU while result() waits on a %.1f s sleep",
             idle_s);
    row("proc_wait", name, &waiting[1], &waiting[2], 1, "%.3f%%", 100, 0,
        eps);
}

static double loadavg(void)
{
    double load = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = 0;
        fclose(f);
    }
    return load;
}

static void header(const char *what, const char *base, int rounds)
{
    printf("\n## %s, %s, %d round%s; load average %.2f at start\n\n", what,
           level == 2   ? "full"
           : level == 1 ? "quick"
                        : "smoke",
           rounds, rounds > 1 ? "s" : "", loadavg());
    printf("| %-58s | %14s | %14s | %19s |\n", "figure", "mpifutures", base,
           "ratio (min-max)");
    printf("|%s|%s|%s|%s|\n",
           "------------------------------------------------------------",
           "----------------", "----------------", "---------------------");
    fflush(stdout);
}

/* ---- main ----------------------------------------------------------------
 */

int main(int argc, char **argv)
{
    int rounds = 0;
    const char *fig = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            level = 1;
        else if (!strcmp(argv[i], "--smoke"))
            level = 0;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--idle") && i + 1 < argc)
            idle_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--figures") && i + 1 < argc)
            fig = argv[++i];
        else if (!strcmp(argv[i], "--corrupt"))
            corrupt = 1;
        else if (!strcmp(argv[i], "--mpi"))
            mpi_mode = 1;
        else {
            fprintf(stderr, "usage: mf-bench-local [--quick|--smoke] "
                            "[--rounds N] [--idle S] [--figures FILE] "
                            "[--only KEY] [--corrupt] [--mpi]\n");
            return 2;
        }
    }
    if (rounds <= 0 || rounds > MAXROUNDS)
        rounds = (int)pick(1, 3, 5);
    if (level == 0 && idle_s == 1.0)
        idle_s = 0.1;
    if (idle_s <= 0 || idle_s > 60) {
        fprintf(stderr, "mf-bench-local: --idle wants 0 < S <= 60\n");
        return 2;
    }
    if (mpi_mode) {
        CHECK(mf_init(&argc, &argv, NULL));
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (size < 2) {
            fprintf(stderr, "mf-bench-local: --mpi wants mpirun -n 3 (at "
                            "least 2 ranks)\n");
            mf_finalize();
            return 2;
        }
    }
    CHECK(mf_register("tiny", t_tiny, NULL, &id_tiny));
    CHECK(mf_register("pid", t_pid, NULL, &id_pid));
    CHECK(mf_register("sleep", t_sleep, NULL, &id_sleep));
    CHECK(mf_register("echo", t_echo, NULL, &id_echo));
    if (fig && rank == 0 && !(figures = fopen(fig, "w"))) {
        perror(fig);
        fail_hard();
    }
    double cpu0 = cpu_seconds(), wall0 = now();
    if (mpi_mode) {
        if (rank == 0) {
            char what[120];
            snprintf(what, sizeof what,
                     "process pool against the MPI backend, %d workers each "
                     "(%d ranks)",
                     size - 1, size);
            header(what, "MPI backend", rounds);
        }
        compare("mpi_rtt", "process pool: empty-task round trip", S_PROCS,
                S_MPI, W_RTT, rounds);
        compare("mpi_submit", "process pool: submit all, collect", S_PROCS,
                S_MPI, W_SUBMIT, rounds);
        compare("mpi_map", "process pool: mf_map_array", S_PROCS, S_MPI,
                W_MAP, rounds);
    } else {
        printf("# mf-bench-local %s: local pools of %d workers; baseline: "
               "a mutex + condvar pthread pool of %d threads, same run\n",
               mf_version(), NW, NW);
        header("local pools against a pthread pool", "pthread pool", rounds);
        compare("thread_rtt", "thread pool: empty-task round trip", S_THREADS,
                S_PTHREAD, W_RTT, rounds);
        compare("thread_submit", "thread pool: submit all, collect",
                S_THREADS, S_PTHREAD, W_SUBMIT, rounds);
        compare("thread_map", "thread pool: mf_map_array", S_THREADS,
                S_PTHREAD, W_MAP, rounds);
        compare("thread_echo", "thread pool: 1 MiB echo round trip",
                S_THREADS, S_PTHREAD, W_ECHO, rounds);
        compare("proc_rtt", "process pool: empty-task round trip", S_PROCS,
                S_PTHREAD, W_RTT, rounds);
        compare("proc_submit", "process pool: submit all, collect", S_PROCS,
                S_PTHREAD, W_SUBMIT, rounds);
        compare("proc_map", "process pool: mf_map_array", S_PROCS, S_PTHREAD,
                W_MAP, rounds);
        compare("proc_echo", "process pool: 1 MiB echo round trip", S_PROCS,
                S_PTHREAD, W_ECHO, rounds);
        idle_rows();
    }
    if (rank == 0) {
        struct rusage ch;
        getrusage(RUSAGE_CHILDREN, &ch); /* the reaped worker processes */
        double ours = cpu_seconds() - cpu0 + (double)ch.ru_utime.tv_sec +
                      (double)ch.ru_utime.tv_usec * 1e-6 +
                      (double)ch.ru_stime.tv_sec +
                      (double)ch.ru_stime.tv_usec * 1e-6;
        printf("\n%.1f s; this run used %.2f cores on average "
               "(load average %.2f at the end)%s.\n",
               now() - wall0, ours / (now() - wall0), loadavg(),
               mpi_mode ? " (rank 0 and its worker processes)" : "");
    }
    if (figures)
        fclose(figures);
    if (mpi_mode)
        mf_finalize();
    if (wrong)
        fprintf(stderr, "mf-bench-local: %ld wrong results%s\n", wrong,
                corrupt ? " (--corrupt: expected)" : "");
    if (corrupt) /* every block must have caught its wrong result */
        return undetected ? 1 : 0;
    return wrong ? 1 : 0;
}
