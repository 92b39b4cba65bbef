/*
 * mf-bench-workloads — the workloads users run (issue 16), each against a
 * raw-MPI baseline written here and measured in the same run, in blocks
 * that alternate with the library's own blocks (the order flips every
 * round), so both see the machine in the same state. Every result is
 * checked; a wrong one makes the program exit 1.
 *
 *   mpirun -n 2|3 mf-bench-workloads [--quick|--smoke] [--only NAME]
 *   mpirun -n 8|16 mf-bench-workloads [--quick|--smoke]       (sleep)
 *
 * Workloads (NAME):
 *   mixed   tasks of exponentially distributed CPU time (busy-wait on the
 *           thread's CPU clock, fixed seeds), means 20 us / 200 us / 2 ms,
 *           submit all + mf_as_completed: efficiency = ideal time (work /
 *           workers) / makespan, against a farm that busy-waits (MPI_Recv,
 *           2 tasks in flight per worker)
 *   bulk    10^6 empty tasks: submit all, mf_wait(ALL_COMPLETED), release;
 *           tasks/s against a farm with 32 in flight per worker
 *   window  1,000 futures outstanding: take the first completed, submit
 *           the next; with a new mf_as_completed per take and with
 *           mf_wait(FIRST_COMPLETED), and with one completion queue
 *           (mf_as_completed_add + take); tasks/s against the same farm
 *   echo    1 KiB and 64 KiB echo, one round trip at a time, against an
 *           MPI_Send/MPI_Recv ping-pong between the same processes
 *   sleep   (run by default with 4 ranks or more) tasks that sleep 5 ms:
 *           CPU time of all ranks (getrusage, summed) per wall second,
 *           against a farm whose master and workers poll with a sleep
 *           backoff; and the efficiency of both
 *
 * Each block opens an executor on MPI_COMM_WORLD and closes it (workers
 * leave mf_executor_open), so the raw blocks have every rank to
 * themselves; opening costs tens of microseconds and is not timed.
 * The ratio column is the median over rounds of the per-round ratio (each
 * round pairs one block of ours with one baseline block), higher is
 * better for mpifutures, with its min-max over rounds.
 * --corrupt makes task 3 of every block (both sides) answer wrong: the
 * run must then fail (a CTest checks that it does).
 */
#define _GNU_SOURCE
#include <mpifutures.h>

#include "bench_util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TAG_FARM 11
#define TAG_PING 12
#define MAXROUNDS 16
#define STOP UINT64_MAX

static int rank, size, nw, corrupt;
static int level = 2;   /* 0 smoke, 1 quick, 2 full */
static long wrong;      /* wrong results seen by the root */
static long undetected; /* --corrupt: blocks that saw no wrong result */
static const char *only;
static MPI_Comm raw_comm; /* the baselines' own communicator */
static mf_fn_id id_tiny, id_spin, id_nap, id_echo;
enum kind { K_NONE, K_SPIN, K_SLEEP };
static int kind_none = K_NONE, kind_spin = K_SPIN, kind_sleep = K_SLEEP;

#define CHECK(x)                                                             \
    do {                                                                     \
        int rc_ = (x);                                                       \
        if (rc_ != MF_OK) {                                                  \
            fprintf(stderr, "mf-bench-workloads: %s failed: %s (%s)\n", #x,  \
                    mf_errname(rc_), mf_last_error());                       \
            MPI_Abort(MPI_COMM_WORLD, 1);                                    \
        }                                                                    \
    } while (0)

/* ---- helpers ------------------------------------------------------------
 */

/* Machine-wide busy and steal CPU seconds so far (/proc/stat): with the
 * job's own CPU, what other processes took during the run (noise). */
static void machine_cpu(double *busy, double *steal)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    *busy = *steal = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
        *steal = (double)v[7] / hz;
    }
    fclose(f);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Busy for `ns` of this thread's CPU time: a fixed amount of work, so CPU
 * taken by other ranks on the same core lengthens the makespan. */
static void spin_ns(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    uint64_t t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    for (;;) {
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        if (t - t0 >= ns)
            break;
    }
}

/* The work of task t (both sides): its answer is mix(t). */
static uint64_t work(int kind, uint64_t t, uint64_t param)
{
    if (kind == K_SPIN)
        spin_ns(param);
    else if (kind == K_SLEEP)
        sleep_ns(param);
    return mix(t) + (corrupt && t == 3);
}

static void bad(const char *what, uint64_t t)
{
    if (wrong++ < 5)
        fprintf(stderr, "mf-bench-workloads: wrong result (%s), task %llu\n",
                what, (unsigned long long)t);
}

/* Root, after each block: with --corrupt, a block that found nothing
 * wrong is a defect of the benchmark. */
static void block_done(long before, const char *what)
{
    if (corrupt && wrong == before) {
        undetected++;
        fprintf(stderr, "mf-bench-workloads: %s missed a wrong result\n",
                what);
    }
}

/* A barrier that sleeps: ranks that wait for a block to end must not take
 * CPU from the ranks that run it (2 cores, up to 16 ranks). */
static void idle_barrier(void)
{
    MPI_Request r;
    int done = 0;
    long us = 1;
    MPI_Ibarrier(raw_comm, &r);
    for (;;) {
        MPI_Test(&r, &done, MPI_STATUS_IGNORE);
        if (done)
            break;
        sleep_ns((uint64_t)us * 1000u);
        us = us < 1000 ? 2 * us : 1000;
    }
}

/* One table row: medians of both sides, and the median (min-max) of the
 * per-round ratio, oriented so that higher is better for mpifutures. */
static void row(const char *name, const double *ours, const double *base,
                int n, const char *fmt, double scale, int higher_better)
{
    double r[MAXROUNDS] = {0}, lo = 1e300, hi = 0;
    char a[32], b[32];
    for (int i = 0; i < n; i++) {
        r[i] = higher_better ? ours[i] / base[i] : base[i] / ours[i];
        lo = r[i] < lo ? r[i] : lo;
        hi = r[i] > hi ? r[i] : hi;
    }
    snprintf(a, sizeof a, fmt, median(ours, n) * scale);
    snprintf(b, sizeof b, fmt, median(base, n) * scale);
    printf("| %-54s | %14s | %14s | %5.2fx (%.2f-%.2f) |\n", name, a, b,
           median(r, n), lo, hi);
    fflush(stdout);
}

static int want(const char *name)
{
    if (only)
        return strstr(name, only) != NULL;
    return strcmp(name, "sleep") == 0 ? size >= 4 : size <= 3;
}

/* Counts by level: smoke, quick, full. */
static long pick(long smoke, long quick, long full)
{
    return level == 0 ? smoke : level == 1 ? quick : full;
}

/* ---- task functions ------------------------------------------------------
 */

/* Argument {t, param}; result {t, mix(t)}. The kind is the userdata. */
static int t_work(mf_task *task, void *ud)
{
    uint64_t a[2], r[2];
    size_t len;
    const void *p = mf_task_arg(task, &len);
    if (len != sizeof a)
        return mf_task_fail(task, "bad argument");
    memcpy(a, p, sizeof a);
    r[0] = a[0];
    r[1] = work(*(const int *)ud, a[0], a[1]);
    return mf_task_return(task, r, sizeof r);
}

/* Echo: hands its argument back in place. The first 8 bytes are the
 * round-trip number (for --corrupt). */
static int t_echo(mf_task *task, void *ud)
{
    size_t len;
    unsigned char *p = mf_task_arg_inplace(task, &len);
    uint64_t i = 0;
    (void)ud;
    if (len >= 16) {
        memcpy(&i, p, sizeof i);
        p[len - 1] ^= (unsigned char)(corrupt && i == 3);
    }
    return mf_task_return_arg(task, len);
}

/* ---- the library's side -------------------------------------------------
 */

/* Opens an executor on every rank: the root gets it, workers serve until it
 * closes and get NULL. */
static mf_executor *open_ex(void)
{
    mf_executor *ex;
    idle_barrier();
    CHECK(mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex));
    return ex;
}

/* Checks a {t, mix(t)} result; returns t, or STOP if wrong. */
static uint64_t check_pair(mf_future f)
{
    const void *d;
    size_t l;
    uint64_t r[2];
    CHECK(mf_future_result(f, 0, &d, &l));
    if (l != sizeof r) {
        bad("length", 0);
        return STOP;
    }
    memcpy(r, d, sizeof r);
    if (r[1] != mix(r[0])) {
        bad("value", r[0]);
        return STOP;
    }
    return r[0];
}

static void submit_task(mf_executor *ex, mf_fn_id fn, uint64_t t,
                        uint64_t param, mf_future *f)
{
    uint64_t a[2] = {t, param};
    CHECK(mf_submit(ex, fn, a, sizeof a, f));
}

/* Submit n tasks (params[t], or 0), then take them with mf_as_completed and
 * check every result; seconds from the first submit to the last result. */
static double lib_as_completed(mf_executor *ex, mf_fn_id fn, long n,
                               const uint64_t *params)
{
    mf_future *fs = malloc((size_t)n * sizeof *fs);
    unsigned char *seen = calloc((size_t)n, 1);
    mf_as_completed_iter *it;
    mf_future f;
    long got = 0, before = wrong;
    int rc;
    double t0 = now();
    for (long t = 0; t < n; t++)
        submit_task(ex, fn, (uint64_t)t, params ? params[t] : 0, &fs[t]);
    CHECK(mf_as_completed(fs, (size_t)n, MF_FOREVER, &it));
    while ((rc = mf_as_completed_next(it, &f)) == MF_OK) {
        uint64_t t = check_pair(f);
        if (t != STOP && (t >= (uint64_t)n || seen[t]++))
            bad("duplicate or unknown", t);
        got++;
    }
    double dt = now() - t0;
    if (rc != MF_EDONE || got != n)
        bad("as_completed ended early", (uint64_t)got);
    mf_as_completed_free(it);
    for (long t = 0; t < n; t++)
        mf_future_release(fs[t]);
    free(fs);
    free(seen);
    block_done(before, "as_completed block");
    return dt;
}

/* ---- the raw farm ----------------------------------------------------- */

/* A hand-written master/worker farm on raw_comm: tasks {t, param}, answers
 * {t, mix(t)}, `window` tasks in flight per worker, the freed worker
 * refilled. poll = 0: blocking MPI_Recv (Open MPI busy-polls); poll = 1:
 * MPI_Iprobe/MPI_Test with a sleep backoff (1 us doubling to 100 us, reset
 * by every message), master and workers. Collective; the root checks every
 * answer and returns the seconds from the first send to the last answer. */
struct farm {
    int kind, window, poll;
    long n;
    const uint64_t *params;
};

static void farm_wait(int poll, int src, uint64_t *msg, MPI_Status *st)
{
    long us = 1;
    if (!poll) {
        MPI_Recv(msg, 2, MPI_UINT64_T, src, TAG_FARM, raw_comm, st);
        return;
    }
    for (;;) {
        int flag = 0;
        MPI_Iprobe(src, TAG_FARM, raw_comm, &flag, st);
        if (flag)
            break;
        sleep_ns((uint64_t)us * 1000u);
        us = us < 100 ? 2 * us : 100;
    }
    MPI_Recv(msg, 2, MPI_UINT64_T, st->MPI_SOURCE, TAG_FARM, raw_comm, st);
}

static double raw_farm(const struct farm *fm)
{
    uint64_t msg[2];
    MPI_Status st;
    if (rank != 0) {
        for (;;) {
            farm_wait(fm->poll, 0, msg, &st);
            if (msg[0] == STOP)
                return 0;
            msg[1] = work(fm->kind, msg[0], msg[1]);
            MPI_Send(msg, 2, MPI_UINT64_T, 0, TAG_FARM, raw_comm);
        }
    }
    unsigned char *seen = calloc((size_t)fm->n, 1);
    long sent = 0, done = 0, before = wrong;
    double t0 = now();
    for (int w = 1; w <= nw; w++)
        for (int k = 0; k < fm->window && sent < fm->n; k++, sent++) {
            msg[0] = (uint64_t)sent;
            msg[1] = fm->params ? fm->params[sent] : 0;
            MPI_Send(msg, 2, MPI_UINT64_T, w, TAG_FARM, raw_comm);
        }
    while (done < fm->n) {
        farm_wait(fm->poll, MPI_ANY_SOURCE, msg, &st);
        if (msg[0] >= (uint64_t)fm->n || seen[msg[0]]++ ||
            msg[1] != mix(msg[0]))
            bad("raw farm", msg[0]);
        done++;
        if (sent < fm->n) {
            msg[0] = (uint64_t)sent;
            msg[1] = fm->params ? fm->params[sent] : 0;
            sent++;
            MPI_Send(msg, 2, MPI_UINT64_T, st.MPI_SOURCE, TAG_FARM, raw_comm);
        }
    }
    double dt = now() - t0;
    msg[0] = STOP;
    for (int w = 1; w <= nw; w++)
        MPI_Send(msg, 2, MPI_UINT64_T, w, TAG_FARM, raw_comm);
    free(seen);
    block_done(before, "raw farm");
    return dt;
}

/* ---- (a) mixed task lengths ----------------------------------------------
 */

static void wl_mixed(int rounds)
{
    static const double means[3] = {20e-6, 200e-6, 2e-3};
    static const char *names[3] = {"20 us", "200 us", "2 ms"};
    double ideal_s = (double)pick(2, 50, 250) * 1e-3; /* work per worker */
    for (int m = 0; m < 3; m++) {
        long n = (long)(ideal_s * nw / means[m]);
        n = n < 20 ? 20 : n;
        uint64_t *ns = malloc((size_t)n * sizeof *ns), s = 16 + (uint64_t)m;
        double total = 0, ours[MAXROUNDS] = {0}, base[MAXROUNDS] = {0};
        for (long t = 0; t < n; t++) { /* exponential, a fixed seed */
            double u = (double)(mix(s++) >> 11) * 0x1p-53;
            ns[t] = (uint64_t)(-means[m] * log1p(-u) * 1e9) + 1;
            total += (double)ns[t] * 1e-9;
        }
        double ideal = total / nw;
        struct farm fm = {K_SPIN, 2, 0, n, ns};
        for (int r = -1; r < rounds; r++) { /* round -1 warms up */
            for (int side = 0; side < 2; side++) {
                if ((side ^ (r & 1)) == 0) {
                    mf_executor *ex = open_ex();
                    if (ex) {
                        double dt = lib_as_completed(ex, id_spin, n, ns);
                        CHECK(mf_executor_close(ex));
                        if (r >= 0)
                            ours[r] = ideal / dt;
                    }
                } else {
                    idle_barrier();
                    double dt = raw_farm(&fm);
                    if (rank == 0 && r >= 0)
                        base[r] = ideal / dt;
                }
            }
        }
        if (rank == 0) {
            char name[96];
            snprintf(name, sizeof name,
                     "exp. task lengths, mean %s, %ld tasks: efficiency",
                     names[m], n);
            row(name, ours, base, rounds, "%.3f", 1, 1);
        }
        free(ns);
    }
}

/* ---- (b) bulk: submit all, mf_wait(ALL_COMPLETED), release ---------------
 */

static double lib_bulk(mf_executor *ex, long n)
{
    mf_future *fs = malloc((size_t)n * sizeof *fs);
    unsigned char *seen = calloc((size_t)n, 1);
    long before = wrong;
    double t0 = now();
    for (long t = 0; t < n; t++)
        submit_task(ex, id_tiny, (uint64_t)t, 0, &fs[t]);
    CHECK(mf_wait(fs, (size_t)n, MF_FOREVER, MF_ALL_COMPLETED, NULL, NULL));
    double dt = now() - t0;
    for (long t = 0; t < n; t++) { /* the check, not timed */
        uint64_t got = check_pair(fs[t]);
        if (got != STOP && (got != (uint64_t)t || seen[t]++))
            bad("bulk: another task's result", got);
    }
    t0 = now();
    for (long t = 0; t < n; t++)
        CHECK(mf_future_release(fs[t]));
    dt += now() - t0;
    free(fs);
    free(seen);
    block_done(before, "bulk block");
    return dt;
}

static void wl_bulk(int rounds)
{
    long n = pick(2000, 100000, 1000000);
    double ours[MAXROUNDS] = {0}, base[MAXROUNDS] = {0};
    struct farm fm = {K_NONE, 32, 0, n, NULL};
    for (int r = -1; r < rounds; r++)
        for (int side = 0; side < 2; side++) {
            if ((side ^ (r & 1)) == 0) {
                mf_executor *ex = open_ex();
                if (ex) {
                    double dt = lib_bulk(ex, n);
                    CHECK(mf_executor_close(ex));
                    if (r >= 0)
                        ours[r] = (double)n / dt;
                }
            } else {
                idle_barrier();
                double dt = raw_farm(&fm);
                if (rank == 0 && r >= 0)
                    base[r] = (double)n / dt;
            }
        }
    if (rank == 0) {
        char name[96];
        snprintf(name, sizeof name,
                 "%ld empty tasks: submit all, wait ALL, release", n);
        row(name, ours, base, rounds, "%.3g/s", 1, 1);
    }
}

/* ---- (c) a bounded window of outstanding futures -------------------------
 */

/* Window bookkeeping: win[s] holds task task_of[s]; slot_of[t] is its slot.
 * Takes the finished future in slot s (checked), then refills the slot or,
 * past the last task, fills it with the window's last one. */
struct window {
    mf_future *win;
    long *task_of, *slot_of;
    long k, next, n, done;
};

static void win_take(mf_executor *ex, struct window *w, long s)
{
    uint64_t t = check_pair(w->win[s]);
    if (t != STOP && t != (uint64_t)w->task_of[s])
        bad("window: another task's result", t);
    CHECK(mf_future_release(w->win[s]));
    w->done++;
    if (w->next < w->n) {
        submit_task(ex, id_tiny, (uint64_t)w->next, 0, &w->win[s]);
        w->task_of[s] = w->next;
        w->slot_of[w->next++] = s;
    } else {
        w->k--;
        w->win[s] = w->win[w->k];
        w->task_of[s] = w->task_of[w->k];
        w->slot_of[w->task_of[s]] = s;
    }
}

/* The completion-queue idiom (mf_as_completed_add + take): one queue for
 * the whole run; the position of the t-th add is t, the task number. */
static double lib_window_queue(mf_executor *ex, long n, long k)
{
    mf_as_completed_iter *q = NULL;
    mf_future f;
    long out = 0, done = 0, before = wrong;
    size_t pos = 0;
    double t0 = now();
    CHECK(mf_as_completed(NULL, 0, MF_FOREVER, &q));
    for (long next = 0; done < n;) {
        if (next < n && out < k) {
            submit_task(ex, id_tiny, (uint64_t)next, 0, &f);
            CHECK(mf_as_completed_add(q, f));
            CHECK(mf_future_release(f));
            next++;
            out++;
            continue;
        }
        if (mf_as_completed_take(q, &f, &pos) != MF_OK) {
            bad("window: queue take failed", (uint64_t)done);
            break;
        }
        uint64_t t = check_pair(f);
        if (t != STOP && t != (uint64_t)pos)
            bad("window: queue gave another task's result", t);
        CHECK(mf_future_release(f));
        out--;
        done++;
    }
    double dt = now() - t0;
    mf_as_completed_free(q);
    if (done != n)
        bad("window: tasks lost", (uint64_t)done);
    block_done(before, "window (queue) block");
    return dt;
}

/* way 0: a new mf_as_completed per take; way 1: mf_wait(FIRST_COMPLETED);
 * way 2: the completion queue. Returns seconds for n tasks through a
 * window of k. */
static double lib_window(mf_executor *ex, long n, long k, int way)
{
    if (way == 2)
        return lib_window_queue(ex, n, k);
    struct window w = {malloc((size_t)k * sizeof(mf_future)),
                       malloc((size_t)k * sizeof(long)),
                       malloc((size_t)n * sizeof(long)),
                       0,
                       0,
                       n,
                       0};
    unsigned char *flags = malloc((size_t)k);
    long before = wrong;
    double t0 = now();
    for (; w.k < k && w.next < n; w.k++, w.next++) {
        submit_task(ex, id_tiny, (uint64_t)w.next, 0, &w.win[w.k]);
        w.task_of[w.k] = w.next;
        w.slot_of[w.next] = w.k;
    }
    while (w.done < n) {
        if (way == 0) {
            mf_as_completed_iter *it;
            mf_future f;
            CHECK(mf_as_completed(w.win, (size_t)w.k, MF_FOREVER, &it));
            CHECK(mf_as_completed_next(it, &f));
            uint64_t t = check_pair(f);
            mf_as_completed_free(it);
            if (t == STOP || t >= (uint64_t)n ||
                w.win[w.slot_of[t]].h != f.h) {
                bad("window: not an outstanding future", t);
                break;
            }
            win_take(ex, &w, w.slot_of[t]);
        } else {
            size_t nd = 0;
            CHECK(mf_wait(w.win, (size_t)w.k, MF_FOREVER, MF_FIRST_COMPLETED,
                          flags, &nd));
            if (nd == 0) {
                bad("window: wait FIRST_COMPLETED returned none done", 0);
                break;
            }
            for (long s = w.k - 1; s >= 0; s--) /* descending: see take */
                if (flags[s])
                    win_take(ex, &w, s);
        }
    }
    double dt = now() - t0;
    if (w.done != n)
        bad("window: tasks lost", (uint64_t)w.done);
    for (long s = 0; s < w.k; s++)
        mf_future_release(w.win[s]);
    free(w.win);
    free(w.task_of);
    free(w.slot_of);
    free(flags);
    block_done(before, way ? "window (wait) block" : "window (as_completed)");
    return dt;
}

static void wl_window(int rounds)
{
    long k = 1000, n_asc = pick(1500, 3000, 20000),
         n_wait = pick(3000, 20000, 200000);
    double asc[MAXROUNDS] = {0}, wt[MAXROUNDS] = {0}, qu[MAXROUNDS] = {0},
           base[MAXROUNDS] = {0};
    struct farm fm = {K_NONE, 32, 0, n_wait, NULL};
    for (int r = -1; r < rounds; r++)
        for (int j = 0; j < 4; j++) {
            int side = (j + r + 4) % 4; /* the order rotates */
            if (side < 3) {
                long n = side == 0 ? n_asc : n_wait;
                mf_executor *ex = open_ex();
                if (ex) {
                    double dt = lib_window(ex, n, k, side);
                    CHECK(mf_executor_close(ex));
                    if (r >= 0 && side == 0)
                        asc[r] = (double)n / dt;
                    else if (r >= 0 && side == 1)
                        wt[r] = (double)n / dt;
                    else if (r >= 0)
                        qu[r] = (double)n / dt;
                }
            } else {
                idle_barrier();
                double dt = raw_farm(&fm);
                if (rank == 0 && r >= 0)
                    base[r] = (double)n_wait / dt;
            }
        }
    if (rank == 0) {
        char name[96];
        snprintf(name, sizeof name,
                 "window of %ld, %ld tasks: as_completed per take", k, n_asc);
        row(name, asc, base, rounds, "%.3g/s", 1, 1);
        snprintf(name, sizeof name,
                 "window of %ld, %ld tasks: wait FIRST_COMPLETED", k, n_wait);
        row(name, wt, base, rounds, "%.3g/s", 1, 1);
        snprintf(name, sizeof name,
                 "window of %ld, %ld tasks: as_completed_add + take", k,
                 n_wait);
        row(name, qu, base, rounds, "%.3g/s", 1, 1);
    }
}

/* ---- (d) small-payload round trips ---------------------------------------
 */

static void stamp(unsigned char *b, size_t bytes, uint64_t i)
{
    memcpy(b, &i, sizeof i);
    b[bytes - 1] = (unsigned char)i;
}

/* Seconds per echo of `bytes`, one at a time, each checked in full (the
 * check is not timed). */
static double lib_echo(mf_executor *ex, size_t bytes, long reps)
{
    unsigned char *buf = malloc(bytes);
    double sum = 0;
    long before = wrong;
    memset(buf, 0x5a, bytes);
    for (long i = 0; i < reps; i++) {
        mf_future f;
        const void *d;
        size_t l;
        stamp(buf, bytes, (uint64_t)i);
        double t0 = now();
        CHECK(mf_submit(ex, id_echo, buf, bytes, &f));
        CHECK(mf_future_result(f, MF_FOREVER, &d, &l));
        sum += now() - t0;
        if (l != bytes || memcmp(d, buf, bytes) != 0)
            bad("echo", (uint64_t)i);
        mf_future_release(f);
    }
    free(buf);
    block_done(before, "echo block");
    return sum / (double)reps;
}

/* The same with MPI_Send/MPI_Recv between rank 0 and rank 1 (collective:
 * the other ranks wait in a sleeping barrier). */
static double raw_echo(size_t bytes, long reps)
{
    unsigned char *buf = malloc(bytes), *ref = malloc(bytes);
    double sum = 0;
    long before = wrong;
    memset(ref, 0x5a, bytes);
    for (long i = 0; i < reps && rank <= 1; i++) {
        if (rank == 1) {
            uint64_t j;
            MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, TAG_PING, raw_comm,
                     MPI_STATUS_IGNORE);
            memcpy(&j, buf, sizeof j);
            buf[bytes - 1] ^= (unsigned char)(corrupt && j == 3);
            MPI_Send(buf, (int)bytes, MPI_BYTE, 0, TAG_PING, raw_comm);
            continue;
        }
        stamp(ref, bytes, (uint64_t)i);
        memcpy(buf, ref, bytes); /* (sent from buf, compared with ref) */
        double t0 = now();
        MPI_Send(buf, (int)bytes, MPI_BYTE, 1, TAG_PING, raw_comm);
        MPI_Recv(buf, (int)bytes, MPI_BYTE, 1, TAG_PING, raw_comm,
                 MPI_STATUS_IGNORE);
        sum += now() - t0;
        if (memcmp(buf, ref, bytes) != 0)
            bad("raw echo", (uint64_t)i);
    }
    idle_barrier();
    if (rank == 0)
        block_done(before, "raw echo");
    free(buf);
    free(ref);
    return sum / (double)reps;
}

static void wl_echo(int rounds)
{
    static const size_t sizes[2] = {1024, 65536};
    long reps[2] = {pick(50, 2000, 20000), pick(20, 400, 4000)};
    for (int k = 0; k < 2; k++) {
        double ours[MAXROUNDS] = {0}, base[MAXROUNDS] = {0};
        for (int r = -1; r < rounds; r++)
            for (int side = 0; side < 2; side++) {
                if ((side ^ (r & 1)) == 0) {
                    mf_executor *ex = open_ex();
                    if (ex) {
                        double dt = lib_echo(ex, sizes[k], reps[k]);
                        CHECK(mf_executor_close(ex));
                        if (r >= 0)
                            ours[r] = dt;
                    }
                } else {
                    idle_barrier();
                    double dt = raw_echo(sizes[k], reps[k]);
                    if (rank == 0 && r >= 0)
                        base[r] = dt;
                }
            }
        if (rank == 0) {
            char name[96];
            snprintf(name, sizeof name,
                     "echo %zu KiB, one at a time: round trip",
                     sizes[k] / 1024);
            row(name, ours, base, rounds, "%.2f us", 1e6, 0);
        }
    }
}

/* ---- (e) CPU burned while tasks sleep ------------------------------------
 */

/* Sums every rank's CPU seconds over the block; the root gets the total
 * and the block's wall time. */
static void wl_sleep(int rounds)
{
    long per = pick(3, 40, 200), n = per * nw;
    const uint64_t nap = 5000000; /* 5 ms */
    double ideal = (double)per * (double)nap * 1e-9;
    double cores[2][MAXROUNDS] = {{0}}, eff[2][MAXROUNDS] = {{0}};
    double root[2] = {0}, workers[2] = {0}, walls[2] = {0};
    double *by_rank = calloc((size_t)size, sizeof *by_rank);
    uint64_t *params = malloc((size_t)n * sizeof *params);
    for (long t = 0; t < n; t++)
        params[t] = nap;
    struct farm fm = {K_SLEEP, 2, 1, n, params};
    for (int r = -1; r < rounds; r++)
        for (int side = 0; side < 2; side++) {
            int raw = (side ^ (r & 1)) != 0; /* 0: mpifutures */
            double span = 0;
            idle_barrier();
            double c0 = cpu_seconds(), t0 = now();
            if (!raw) {
                mf_executor *ex;
                CHECK(mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex));
                if (ex) {
                    span = lib_as_completed(ex, id_nap, n, params);
                    CHECK(mf_executor_close(ex));
                }
            } else {
                span = raw_farm(&fm);
            }
            double c = cpu_seconds() - c0, wall = now() - t0, sum = 0;
            MPI_Gather(&c, 1, MPI_DOUBLE, by_rank, 1, MPI_DOUBLE, 0,
                       raw_comm);
            if (rank != 0 || r < 0)
                continue;
            for (int k = 0; k < size; k++)
                sum += by_rank[k];
            cores[raw][r] = sum / wall;
            eff[raw][r] = ideal / span;
            root[raw] += by_rank[0];
            workers[raw] += sum - by_rank[0];
            walls[raw] += wall;
        }
    if (rank == 0) {
        char name[96];
        snprintf(name, sizeof name,
                 "%d ranks, %ld tasks of 5 ms sleep: CPU cores burned", size,
                 n);
        row(name, cores[0], cores[1], rounds, "%.3f", 1, 0);
        snprintf(name, sizeof name, "%d ranks, same: efficiency", size);
        row(name, eff[0], eff[1], rounds, "%.3f", 1, 1);
        printf("\nCores burned by the root / by all %d workers together: "
               "mpifutures %.3f / %.3f, raw farm %.3f / %.3f.\n",
               nw, root[0] / walls[0], workers[0] / walls[0],
               root[1] / walls[1], workers[1] / walls[1]);
    }
    free(by_rank);
    free(params);
}

/* ---- main
 * ------------------------------------------------------------------
 */

int main(int argc, char **argv)
{
    int rounds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            level = 1;
        else if (!strcmp(argv[i], "--smoke"))
            level = 0;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--corrupt"))
            corrupt = 1;
        else {
            fprintf(stderr, "usage: mf-bench-workloads [--quick|--smoke] "
                            "[--only NAME] [--rounds N] [--corrupt]\n");
            return 2;
        }
    }
    if (rounds <= 0 || rounds > MAXROUNDS)
        rounds = (int)pick(1, 2, 5);
    CHECK(mf_init(&argc, &argv, NULL));
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        fprintf(stderr, "mf-bench-workloads: run with at least 2 ranks\n");
        mf_finalize();
        return 2;
    }
    nw = size - 1;
    CHECK(mf_register("tiny", t_work, &kind_none, &id_tiny));
    CHECK(mf_register("spin", t_work, &kind_spin, &id_spin));
    CHECK(mf_register("nap", t_work, &kind_sleep, &id_nap));
    CHECK(mf_register("echo", t_echo, NULL, &id_echo));
    MPI_Comm_dup(MPI_COMM_WORLD, &raw_comm);
    double cpu0 = cpu_seconds(), wall0 = now(), busy0, steal0;
    machine_cpu(&busy0, &steal0);
    if (rank == 0) {
        double load = 0;
        FILE *f = fopen("/proc/loadavg", "r");
        if (f) {
            if (fscanf(f, "%lf", &load) != 1)
                load = 0;
            fclose(f);
        }
        printf("\n## workloads: %d worker%s (%d ranks), %s, %d round%s; "
               "load average %.2f at start\n\n",
               nw, nw > 1 ? "s" : "", size,
               level == 2   ? "full"
               : level == 1 ? "quick"
                            : "smoke",
               rounds, rounds > 1 ? "s" : "", load);
        printf("| %-54s | %14s | %14s | %19s |\n", "workload", "mpifutures",
               "raw MPI", "ratio (min-max)");
        printf("|%s|%s|%s|%s|\n",
               "--------------------------------------------------------",
               "----------------", "----------------",
               "---------------------");
        fflush(stdout);
    }
    if (want("mixed"))
        wl_mixed(rounds);
    if (want("bulk"))
        wl_bulk(rounds);
    if (want("window"))
        wl_window(rounds);
    if (want("echo"))
        wl_echo(rounds);
    if (want("sleep"))
        wl_sleep(rounds);
    double mine = cpu_seconds() - cpu0, ours = 0, busy1, steal1;
    MPI_Reduce(&mine, &ours, 1, MPI_DOUBLE, MPI_SUM, 0, raw_comm);
    if (rank == 0) {
        double wall = now() - wall0;
        machine_cpu(&busy1, &steal1);
        printf(
            "\nOther load during this run: about %.2f cores (the "
            "machine's busy CPU in /proc/stat less these ranks' getrusage; "
            "tick-rounded), steal %.2f; %.1f s.\n",
            (busy1 - busy0 - ours) / wall, (steal1 - steal0) / wall, wall);
    }
    MPI_Comm_free(&raw_comm);
    mf_finalize();
    if (rank == 0 && wrong)
        fprintf(stderr, "mf-bench-workloads: %ld wrong results%s\n", wrong,
                corrupt ? " (--corrupt: expected)" : "");
    if (corrupt) /* every block must have caught its wrong result */
        return undetected ? 1 : 0;
    return wrong ? 1 : 0;
}
