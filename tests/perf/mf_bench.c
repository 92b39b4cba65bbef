/*
 * mf-bench — measures mpifutures against raw-MPI baselines run in the
 * same process, and prints one table with each figure beside its
 * baseline and the ratio (machines are noisy: a ratio holds, a time does
 * not).
 *
 *   mpirun -n 2 mf-bench [--quick] [--idle SECONDS] [--only NAME]
 *                        [--no-baseline]
 *
 * Run it with 2 ranks (1 worker) and 3 ranks (2 workers); scripts/bench
 * does both and adds mpi4py.futures where it is installed.
 * Rows are "name | mpifutures | baseline | ratio (baseline/ours or
 * ours/baseline, whichever says 'higher is better for us')".
 */
#define _POSIX_C_SOURCE 200809L
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

static int rank, size, quick, nobase;
static int wrong; /* results that were not what the task returns */
static double idle_seconds = 10.0;
static const char *only;
static mf_fn_id id_nop, id_echo, id_echo_in, id_sleep, id_rusage, id_pong;
static MPI_Comm raw_comm; /* the baselines' own communicator */
#define TAG_PONG 7

#define CHECK(x)                                                             \
    do {                                                                     \
        int rc_ = (x);                                                       \
        if (rc_ != MF_OK) {                                                  \
            fprintf(stderr, "mf-bench: %s failed: %s (%s)\n", #x,            \
                    mf_errname(rc_), mf_last_error());                       \
            MPI_Abort(MPI_COMM_WORLD, 1);                                    \
        }                                                                    \
    } while (0)

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * 4;
}

/* ---- task functions ---------------------------------------------------- */

static int t_nop(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

/* Returns as many bytes as it was given (payload bandwidth). */
static int t_echo(mf_task *t, void *ud)
{
    size_t len;
    const void *a = mf_task_arg(t, &len);
    void *out;
    (void)ud;
    if (mf_task_result_buffer(t, len, &out) != MF_OK)
        return 1;
    memcpy(out, a, len);
    return 0;
}

/* The same, returning its argument buffer itself (no copy from 32 KiB):
 * what the library's transport costs, without the task's own copy. */
static int t_echo_inplace(mf_task *t, void *ud)
{
    size_t len;
    (void)ud;
    (void)mf_task_arg_inplace(t, &len);
    return mf_task_return_arg(t, len);
}

/* The raw baseline run from inside a task, so it is measured in the same
 * processes at the same moment as the library's figure: say hello to the
 * root (which learns the peer), then answer `reps` ping-pongs of `bytes`
 * on raw_comm with plain MPI_Recv/MPI_Send. */
static int t_pong(mf_task *t, void *ud)
{
    uint64_t a[2];
    size_t len;
    const void *p = mf_task_arg(t, &len);
    (void)ud;
    if (len != sizeof a)
        return mf_task_fail(t, "bad argument");
    memcpy(a, p, sizeof a);
    char *buf = malloc(a[0] ? (size_t)a[0] : 1);
    if (!buf)
        return mf_task_fail(t, "out of memory");
    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_PONG, raw_comm);
    for (uint64_t i = 0; i < a[1]; i++) {
        MPI_Recv(buf, (int)a[0], MPI_BYTE, 0, TAG_PONG, raw_comm,
                 MPI_STATUS_IGNORE);
        MPI_Send(buf, (int)a[0], MPI_BYTE, 0, TAG_PONG, raw_comm);
    }
    free(buf);
    return 0;
}

/* Sleeps the given number of seconds: a long task that uses no CPU, so
 * the CPU the ranks use meanwhile is the library's idle cost. */
static int t_sleep(mf_task *t, void *ud)
{
    double s;
    size_t len;
    const void *a = mf_task_arg(t, &len);
    (void)ud;
    if (len != sizeof s)
        return mf_task_fail(t, "bad argument");
    memcpy(&s, a, sizeof s);
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

/* Returns {world rank, this rank's CPU seconds so far}. */
static int t_rusage(mf_task *t, void *ud)
{
    double c[2];
    int r;
    (void)ud;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    c[0] = r;
    c[1] = cpu_seconds();
    return mf_task_return(t, c, sizeof c);
}

/* ---- output ------------------------------------------------------------ */

static void row(const char *name, double ours, double base, const char *unit,
                int higher_better)
{
    char r[32] = "-";
    if (base > 0 && ours > 0)
        snprintf(r, sizeof r, "%.2fx",
                 higher_better ? ours / base : base / ours);
    if (base > 0)
        printf("| %-46s | %12.4g %-7s | %12.4g | %8s |\n", name, ours, unit,
               base, r);
    else
        printf("| %-46s | %12.4g %-7s | %12s | %8s |\n", name, ours, unit,
               "-", r);
    fflush(stdout);
}

static int want(const char *name)
{
    return !only || strstr(name, only) != NULL;
}

/* ---- raw MPI baselines (same process, same ranks) ------------------------
 */

/* One-way latency of a 16-byte ping-pong between root and rank 1, and
 * round-trip bandwidth for `bytes` each way; workers answer. */
static double raw_pingpong(MPI_Comm c, size_t bytes, int reps)
{
    char *buf = calloc(bytes ? bytes : 1, 1);
    double t0 = 0, t = 0;
    if (rank == 0) {
        int peer = 1;
        for (int i = -reps / 10; i < reps; i++) {
            if (i == 0)
                t0 = now();
            MPI_Send(buf, (int)bytes, MPI_BYTE, peer, 1, c);
            MPI_Recv(buf, (int)bytes, MPI_BYTE, peer, 1, c,
                     MPI_STATUS_IGNORE);
        }
        t = (now() - t0) / reps;
    } else if (rank == 1) {
        for (int i = -reps / 10; i < reps; i++) {
            MPI_Recv(buf, (int)bytes, MPI_BYTE, 0, 1, c, MPI_STATUS_IGNORE);
            MPI_Send(buf, (int)bytes, MPI_BYTE, 0, 1, c);
        }
    }
    free(buf);
    MPI_Bcast(&t, 1, MPI_DOUBLE, 0, c);
    return t; /* seconds per round trip */
}

/* A hand-written farm: 16-byte tasks {id, fn, arg}, `window` in flight per
 * worker, answered with 16 bytes; returns tasks/s. */
static double raw_farm(MPI_Comm c, int window, long ntasks)
{
    double rate = 0;
    uint64_t msg[2];
    if (rank == 0) {
        int nw = size - 1;
        long sent = 0, done = 0;
        double t0 = now();
        for (int w = 1; w <= nw; w++)
            for (int k = 0; k < window && sent < ntasks; k++, sent++) {
                msg[0] = (uint64_t)sent;
                msg[1] = 0;
                MPI_Send(msg, 2, MPI_UINT64_T, w, 2, c);
            }
        while (done < ntasks) {
            MPI_Status st;
            MPI_Recv(msg, 2, MPI_UINT64_T, MPI_ANY_SOURCE, 2, c, &st);
            done++;
            if (sent < ntasks) {
                msg[0] = (uint64_t)sent++;
                MPI_Send(msg, 2, MPI_UINT64_T, st.MPI_SOURCE, 2, c);
            }
        }
        rate = (double)ntasks / (now() - t0);
        msg[0] = UINT64_MAX;
        for (int w = 1; w <= nw; w++)
            MPI_Send(msg, 2, MPI_UINT64_T, w, 2, c);
    } else {
        for (;;) {
            MPI_Recv(msg, 2, MPI_UINT64_T, 0, 2, c, MPI_STATUS_IGNORE);
            if (msg[0] == UINT64_MAX)
                break;
            msg[1] = msg[0] + 1; /* the "work" */
            MPI_Send(msg, 2, MPI_UINT64_T, 0, 2, c);
        }
    }
    MPI_Bcast(&rate, 1, MPI_DOUBLE, 0, c);
    return rate;
}

/* ---- mpifutures measurements (root side) ------------------------------- */

static double mf_round_trip(mf_executor *ex, int reps, double *p99)
{
    double *lat = malloc((size_t)reps * sizeof *lat);
    for (int i = -reps / 10; i < reps; i++) {
        mf_future f;
        double t0 = now();
        CHECK(mf_submit(ex, id_nop, NULL, 0, &f));
        CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
        double dt = now() - t0;
        mf_future_release(f);
        if (i >= 0)
            lat[i] = dt;
    }
    qsort(lat, (size_t)reps, sizeof *lat, cmp_double);
    double med = lat[reps / 2];
    *p99 = lat[(size_t)(reps * 0.99)];
    free(lat);
    return med;
}

static double mf_submit_rate(mf_executor *ex, long n, mf_future *fs)
{
    double t0 = now();
    for (long i = 0; i < n; i++)
        CHECK(mf_submit(ex, id_nop, NULL, 0, &fs[i]));
    for (long i = 0; i < n; i++) {
        CHECK(mf_future_result(fs[i], MF_FOREVER, NULL, NULL));
        mf_future_release(fs[i]);
    }
    return (double)n / (now() - t0);
}

static double mf_as_completed_rate(mf_executor *ex, long n, mf_future *fs)
{
    mf_as_completed_iter *it;
    mf_future f;
    long got = 0;
    double t0 = now();
    for (long i = 0; i < n; i++)
        CHECK(mf_submit(ex, id_nop, NULL, 0, &fs[i]));
    CHECK(mf_as_completed(fs, (size_t)n, MF_FOREVER, &it));
    while (mf_as_completed_next(it, &f) == MF_OK)
        got++;
    double rate = (double)n / (now() - t0);
    mf_as_completed_free(it);
    for (long i = 0; i < n; i++)
        mf_future_release(fs[i]);
    if (got != n)
        wrong++, fprintf(stderr, "mf-bench: as_completed gave %ld of %ld\n",
                         got, n);
    return rate;
}

static double mf_map_rate(mf_executor *ex, long n, size_t chunksize)
{
    const void **args = calloc((size_t)n, sizeof *args);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    mf_map_opts o;
    mf_map_iter *it;
    long got = 0;
    mf_map_opts_init(&o);
    o.chunksize = chunksize;
    double t0 = now();
    CHECK(mf_map(ex, id_nop, args, lens, (size_t)n, &o, &it));
    while (mf_map_next(it, NULL, NULL, NULL) == MF_OK)
        got++;
    double rate = (double)n / (now() - t0);
    mf_map_free(it);
    free(args);
    free(lens);
    if (got != n)
        wrong++, fprintf(stderr, "mf-bench: map gave %ld of %ld\n", got, n);
    return rate;
}

/* The bench keeps its buffer: the library only says when it is done. */
static void keep_arg(void *p)
{
    (void)p;
}

/* Raw ping-pong of `bytes`, `reps` times, with whichever worker takes the
 * pong task: seconds. */
static double raw_block(mf_executor *ex, char *buf, size_t bytes, int reps)
{
    uint64_t a[2] = {bytes, (uint64_t)reps};
    mf_future f;
    MPI_Status st;
    CHECK(mf_submit(ex, id_pong, a, sizeof a, &f));
    /* The submit sent the task (the workers are idle); its hello names
     * the worker that runs it. */
    MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_PONG, raw_comm, &st);
    double t0 = now();
    for (int i = 0; i < reps; i++) {
        MPI_Send(buf, (int)bytes, MPI_BYTE, st.MPI_SOURCE, TAG_PONG,
                 raw_comm);
        MPI_Recv(buf, (int)bytes, MPI_BYTE, st.MPI_SOURCE, TAG_PONG, raw_comm,
                 MPI_STATUS_IGNORE);
    }
    double t = now() - t0;
    CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
    mf_future_release(f);
    return t;
}

/* Echo tasks of `bytes` each, one at a time, in blocks alternating with
 * blocks of a raw ping-pong of the same size (so both see the same
 * machine): bytes/s both ways, ours, and the raw one in *raw. The
 * argument goes without a copy (mf_submit_opts.free_arg). */
static double mf_bandwidth(mf_executor *ex, mf_fn_id fn, size_t bytes,
                           int reps, double *raw)
{
    char *arg = malloc(bytes);
    memset(arg, 7, bytes);
    mf_submit_opts so = {0};
    so.free_arg = keep_arg;
    int blocks = reps >= 40 ? 8 : reps >= 8 ? 4 : 1;
    int per_block = reps / blocks;
    double ours = 0, base = 0;
    (void)raw_block(ex, arg, bytes, per_block / 4 + 1); /* warm up */
    for (int b = -1; b < blocks; b++) {
        double t0 = now();
        for (int i = 0; i < per_block; i++) {
            mf_future f;
            const void *d;
            size_t l;
            CHECK(mf_submit_ex(ex, fn, arg, bytes, &so, &f));
            CHECK(mf_future_result(f, MF_FOREVER, &d, &l));
            /* Checked in full in the warm-up block only (outside the
             * timing); the length always. */
            if (l != bytes || (b < 0 && memcmp(d, arg, bytes) != 0))
                wrong++, fprintf(stderr,
                                 "mf-bench: echo returned %zu bytes "
                                 "of %zu, or other bytes\n",
                                 l, bytes);
            mf_future_release(f);
        }
        if (b >= 0) /* block -1 warms up */
            ours += now() - t0;
        if (b >= 0)
            base += raw_block(ex, arg, bytes, per_block);
    }
    free(arg);
    double n = (double)blocks * per_block;
    *raw = 2.0 * (double)bytes * n / base;
    return 2.0 * (double)bytes * n / ours;
}

/* One bandwidth row: ours against the raw ping-pong interleaved with it. */
static void bw_row(mf_executor *ex, const char *name, mf_fn_id fn,
                   size_t bytes, int reps)
{
    double raw = 0, ours = mf_bandwidth(ex, fn, bytes, reps, &raw);
    row(name, ours, raw, "B/s", 1);
}

/* Root memory per held future: the growth of the root's resident set
 * while n futures are held (done, not released). Run first, so every slot
 * is new (slots are kept for reuse once made). */
static void mf_memory(mf_executor *ex, long n)
{
    mf_future *fs = malloc((size_t)n * sizeof *fs);
    long r0 = rss_kib();
    for (long i = 0; i < n; i++)
        CHECK(mf_submit(ex, id_nop, NULL, 0, &fs[i]));
    CHECK(mf_wait(fs, (size_t)n, MF_FOREVER, MF_ALL_COMPLETED, NULL, NULL));
    long r1 = rss_kib();
    for (long i = 0; i < n; i++)
        mf_future_release(fs[i]);
    free(fs);
    char name[80];
    snprintf(name, sizeof name, "root memory per held future, %ld futures",
             n);
    /* The handle array (8 B each) is the benchmark's own. */
    double b = ((double)(r1 - r0) * 1024.0 - 8.0 * (double)n) / (double)n;
    row(name, b, 200, "B", 0);
}

/* Per-task cost (submit all, wait for all) at 10^3..10^6 tasks: it must
 * stay flat. Small sizes run several times and report the median (a
 * single 10^3 run takes 0.3 ms: one page fault or timer tick is 10% of
 * it). */
static void mf_scaling(mf_executor *ex)
{
    long sizes[] = {1000, 10000, 100000, 1000000};
    double base = 0;
    for (int k = 0; k < 4; k++) {
        long n = sizes[k];
        if (quick && n > 100000)
            break;
        int reps = n >= 100000 ? 1 : n >= 10000 ? 5 : 21;
        double per[21] = {0};
        mf_future *fs = malloc((size_t)n * sizeof *fs);
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            for (long i = 0; i < n; i++)
                CHECK(mf_submit(ex, id_nop, NULL, 0, &fs[i]));
            CHECK(mf_wait(fs, (size_t)n, MF_FOREVER, MF_ALL_COMPLETED, NULL,
                          NULL));
            per[r] = (now() - t0) / (double)n;
            for (long i = 0; i < n; i++)
                mf_future_release(fs[i]);
        }
        free(fs);
        qsort(per, (size_t)reps, sizeof per[0], cmp_double);
        char name[80];
        if (reps > 1)
            snprintf(name, sizeof name,
                     "per-task cost, %ld tasks (median of %d)", n, reps);
        else
            snprintf(name, sizeof name, "per-task cost, %ld tasks", n);
        if (k == 0)
            base = per[reps / 2];
        row(name, per[reps / 2] * 1e9, base * 1e9, "ns", 0);
    }
}

/* CPU seconds of every worker rank, asked with many probes (a probe
 * lands on whichever worker is free; each answers with its rank). */
static void worker_cpu(mf_executor *ex, double *cpu)
{
    int nprobe = 16 * (size - 1);
    mf_future *p = malloc((size_t)nprobe * sizeof *p);
    for (int i = 0; i < nprobe; i++)
        CHECK(mf_submit(ex, id_rusage, NULL, 0, &p[i]));
    for (int i = 0; i < nprobe; i++) {
        const void *d;
        double v[2];
        CHECK(mf_future_result(p[i], MF_FOREVER, &d, NULL));
        memcpy(v, d, sizeof v);
        int r = (int)v[0];
        if (r > 0 && r < size && v[1] > cpu[r])
            cpu[r] = v[1];
        mf_future_release(p[i]);
    }
    free(p);
}

/* CPU share of each rank while one long task that sleeps runs: what the
 * library costs when there is nothing to do. */
static void mf_idle_cpu(mf_executor *ex)
{
    double secs = quick ? 2.0 : idle_seconds;
    double *c0 = calloc((size_t)size, sizeof *c0);
    double *c1 = calloc((size_t)size, sizeof *c1);
    mf_future f;
    worker_cpu(ex, c0);
    c0[0] = cpu_seconds();
    double t0 = now();
    CHECK(mf_submit(ex, id_sleep, &secs, sizeof secs, &f));
    CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
    mf_future_release(f);
    double span = now() - t0;
    c1[0] = cpu_seconds();
    worker_cpu(ex, c1);
    row("idle CPU, root, during one long task", (c1[0] - c0[0]) / span * 100,
        1.0, "% core", 0);
    for (int r = 1; r < size; r++) {
        char name[80];
        snprintf(name, sizeof name, "idle CPU, worker rank %d", r);
        if (c0[r] == 0 || c1[r] == 0)
            printf("| %-46s | %20s | %12s | %8s |\n", name, "not probed", "-",
                   "-");
        else
            row(name, (c1[r] - c0[r]) / span * 100, 1.0, "% core", 0);
    }
    free(c0);
    free(c1);
}

/* ---- main ----------------------------------------------------------------
 */

static void run_root(mf_executor *ex, double rtt_raw, double farm1,
                     double farm32)
{
    long n = quick ? 50000 : 200000;
    mf_future *fs = malloc((size_t)(quick ? 100000 : 100000) * sizeof *fs);
    char name[96];
    int nw = size - 1;

    printf("\n## %d worker%s (%d ranks)\n\n", nw, nw > 1 ? "s" : "", size);
    printf("| %-46s | %20s | %12s | %8s |\n", "figure", "mpifutures",
           "baseline", "ratio");
    printf("|%s|%s|%s|%s|\n",
           "------------------------------------------------",
           "----------------------", "--------------", "----------");
    /* Memory first: later phases leave future slots to reuse. */
    if (want("memory"))
        mf_memory(ex, quick ? 100000 : 1000000);
    if (want("scaling"))
        mf_scaling(ex);
    if (want("round")) {
        double p99, med = mf_round_trip(ex, quick ? 5000 : 20000, &p99);
        row("empty task round trip, median (raw farm W=1)", med * 1e6,
            farm1 > 0 ? 1e6 / farm1 : 0, "us", 0);
        row("empty task round trip, p99", p99 * 1e6,
            farm1 > 0 ? 1e6 / farm1 : 0, "us", 0);
        row("  (raw MPI 16 B ping-pong round trip)", rtt_raw * 1e6, 0, "us",
            0);
    }
    if (want("isolat")) {
        /* A fork per task: the price of surviving crashing tasks. */
        int reps = quick ? 200 : 1000;
        mf_submit_opts so = {0};
        so.isolate = 1;
        double t0 = now();
        for (int i = 0; i < reps; i++) {
            mf_future f;
            CHECK(mf_submit_ex(ex, id_nop, NULL, 0, &so, &f));
            CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
            mf_future_release(f);
        }
        double iso = (now() - t0) / reps;
        t0 = now();
        for (int i = 0; i < reps; i++) {
            mf_future f;
            CHECK(mf_submit(ex, id_nop, NULL, 0, &f));
            CHECK(mf_future_result(f, MF_FOREVER, NULL, NULL));
            mf_future_release(f);
        }
        double plain = (now() - t0) / reps;
        row("isolated empty task round trip (vs plain)", iso * 1e6,
            plain * 1e6, "us", 0);
    }
    if (want("submit")) {
        snprintf(name, sizeof name, "submit/result, %ld outstanding", n);
        mf_future *big = malloc((size_t)n * sizeof *big);
        row(name, mf_submit_rate(ex, n, big), farm32, "tasks/s", 1);
        free(big);
    }
    if (want("as_completed"))
        row("as_completed over 100,000 futures",
            mf_as_completed_rate(ex, 100000, fs), farm32, "tasks/s", 1);
    if (want("map")) {
        row("map, chunksize 1", mf_map_rate(ex, n, 1), farm32, "tasks/s", 1);
        row("map, chunksize 1000",
            mf_map_rate(ex, quick ? 1000000 : 4000000, 1000), farm32,
            "tasks/s", 1);
    }
    if (want("bandwidth")) {
        /* The in-place echo measures the library's transport; the last
         * row adds the copy a task that builds a new result makes. */
        bw_row(ex, "echo 16 B both ways, bandwidth", id_echo_in, 16,
               quick ? 2000 : 20000);
        bw_row(ex, "echo 64 KiB both ways, bandwidth", id_echo_in, 65536,
               quick ? 200 : 2000);
        bw_row(ex, "echo 8 MiB both ways, bandwidth", id_echo_in, 8 << 20,
               quick ? 16 : 80);
        bw_row(ex, "  echo 8 MiB, the task copies into a new result", id_echo,
               8 << 20, quick ? 16 : 80);
    }
    if (want("idle"))
        mf_idle_cpu(ex);
    free(fs);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--idle") && i + 1 < argc)
            idle_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-baseline"))
            nobase = 1; /* profiling: only the library's own figures */
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: mf-bench [--quick] [--idle S] "
                            "[--only NAME] [--no-baseline]\n");
            return 2;
        }
    }
    CHECK(mf_init(&argc, &argv, NULL));
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        fprintf(stderr, "mf-bench: run with at least 2 ranks\n");
        return 2;
    }
    CHECK(mf_register("nop", t_nop, NULL, &id_nop));
    CHECK(mf_register("echo", t_echo, NULL, &id_echo));
    CHECK(mf_register("echo_inplace", t_echo_inplace, NULL, &id_echo_in));
    CHECK(mf_register("pong", t_pong, NULL, &id_pong));
    CHECK(mf_register("sleep", t_sleep, NULL, &id_sleep));
    CHECK(mf_register("rusage", t_rusage, NULL, &id_rusage));

    /* Baselines first, on a communicator of their own. */
    /* (Bandwidth baselines run later, interleaved with ours.) */
    double rtt = 0, farm1 = 0, farm32 = 0;
    MPI_Comm_dup(MPI_COMM_WORLD, &raw_comm);
    if (!nobase) {
        long fn = quick ? 200000 : 1000000;
        rtt = raw_pingpong(raw_comm, 16, quick ? 20000 : 100000);
        farm1 = raw_farm(raw_comm, 1, fn / 4);
        farm32 = raw_farm(raw_comm, 32, fn);
    }

    /* Executor open + shutdown. */
    double opens = 0;
    int nopen = quick ? 5 : 20;
    for (int i = 0; i < nopen; i++) {
        mf_executor *ex;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now();
        CHECK(mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex));
        if (ex)
            CHECK(mf_executor_close(ex));
        opens += now() - t0;
    }

    mf_executor *ex;
    CHECK(mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex));
    if (ex) {
        printf("# mf-bench %s, %d ranks, %s\n", mf_version(), size,
               quick ? "quick" : "full");
        run_root(ex, rtt, farm1, farm32);
        row("executor open + close", opens / nopen * 1e3, 0, "ms", 0);
        CHECK(mf_executor_close(ex));
    }
    MPI_Comm_free(&raw_comm);
    mf_finalize();
    return wrong ? 1 : 0;
}
