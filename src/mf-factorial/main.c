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
 * three registered functions (tasks.h):
 *
 *   mf-factorial.chunk  a list of n -> per-n summary records (digits, n! mod
 *                       2^61-1, leading/trailing digits), and the full n!
 *                       values when asked (--print/--out/--check)
 *   mf-factorial.part   part k of K of the prime-exponent split of n!
 *   mf-factorial.mul    the product of two packed integers
 *
 * The root collects chunk results with mf_as_completed (set_run.c) and
 * combines the huge parts (huge_run.c).
 *
 * The files, each one concept, dependencies one way (top to bottom):
 *   main.c        this: the ranks' agreement and the two phases
 *   set_run.c     the set run;   huge_run.c   the huge run
 *   watchdog.c    the lost-rank thread;   ranks.c   rank identities
 *   progress.c    the progress bar;   report.c  the root's other messages
 *   tasks.c       the task functions and their formats
 *   cli.c         the command line and --help
 *   common.h/.c   exit statuses, words, clocks;  factorial_math.c  the math
 *
 * Design: every rank runs the same main, and every collective step (the
 * verdict, the identities, each executor's open and close, the decision
 * whether the next phase runs) is taken by all ranks in the same order;
 * only the root's side of a phase differs (root_phase).
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpifutures.h>

#include "cli.h"
#include "common.h"
#include "huge_run.h"
#include "progress.h"
#include "ranks.h"
#include "report.h"
#include "set_run.h"
#include "tasks.h"
#include "watchdog.h"

/* The summary line's figures (the set run's). */
typedef struct totals {
    uint64_t digits, sum;
    double secs;
} totals;

/* Rank 0: parse and check; plan = {verdict, have a set, have a huge N}. */
static void decide(opts *o, int argc, char **argv, int size, int plan[3])
{
    plan[0] = parse_args(o, argc, argv);
    /* The bar's own setting is checked like the library's MF_* ones:
     * a typo must not silently pick a mode. */
    if (plan[0] == EX_OK)
        plan[0] = progress_check_env();
    /* One rank (./mf-factorial, or mpirun -n 1): the library's local pool
     * computes; --workers and --threads choose it (through the library's
     * own MF_WORKERS and MF_BACKEND, so the open is the usual one). */
    if (plan[0] == EX_OK && (o->workers || o->threads) && size > 1)
        plan[0] = usage_error("--workers and --threads are for a run alone "
                              "(one rank); under mpirun the ranks are the "
                              "workers");
    if (plan[0] == EX_OK && o->workers) {
        char n[16];
        snprintf(n, sizeof n, "%d", o->workers);
        setenv("MF_WORKERS", n, 1);
    }
    if (plan[0] == EX_OK && o->threads)
        setenv("MF_BACKEND", "threads", 1);
    plan[1] = o->count > 0;
    plan[2] = o->have_huge;
    fflush(stdout);
}

/* The executor settings of a phase. */
static void phase_opts(mf_executor_opts *eo, int phase)
{
    mf_executor_opts_init(eo);
    /* The main job of batch scripts: a walltime warning (SIGUSR1,
     * SIGTERM) ends it cleanly with a count (MF_SIGNALS=0 turns it
     * off). */
    eo->handle_signals = 1;
    if (phase == 2)
        eo->window = 1;
    const char *ws = getenv("MF_FACTORIAL_WINDOW"); /* for experiments */
    if (phase == 1 && ws && atoi(ws) > 0)
        eo->window = (unsigned)atoi(ws);
}

/* The root's side of a phase: run it, say an interruption, close the
 * executor. The phase's exit status. */
/* A batch system's warning can come before an executor is open (start-up
 * under load, between the two phases) or after it closed, when the
 * library's handlers are not in place: the default action would kill the
 * rank. This handler only records it; the root raises it again once its
 * executor is open, so the library winds the job down as usual, and a
 * worker leaves the decision to the root (which gets the signal too). */
static volatile sig_atomic_t g_early_sig;

static void on_early_signal(int sig)
{
    if (!g_early_sig)
        g_early_sig = sig;
}

static void early_signals(void)
{
    const char *v = getenv("MF_SIGNALS");
    if (v && strcmp(v, "0") == 0)
        return; /* signals left to their default action, as asked */
    static const int sigs[] = {SIGUSR1, SIGTERM, SIGINT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_early_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static int root_phase(mf_executor *ex, int phase, const opts *o,
                      const task_fns *fn, totals *tot)
{
    if (g_early_sig) /* came while no executor was open: handle it now */
        raise(g_early_sig);
    if (phase == 1 && o->demo)
        printf("mf-factorial demo on %d workers: %zu factorials "
               "(--range "
               "1000:20000:2000 --range 50000:200000:64), then "
               "10000000! split over "
               "the workers.\nTry: mf-factorial --help; mf-factorial "
               "--ordered 0 1 "
               "5 10 100 1000\n",
               mf_executor_workers(ex), o->count);
    report_set_executor(ex);
    set_done(0);
    wd_start(ex, phase, o);
    int r = phase == 1 ? run_set(ex, o, fn->chunk, &tot->secs, &tot->digits,
                                 &tot->sum)
                       : run_huge(ex, o, fn->part, fn->mul);
    int sig = mf_executor_interrupted(ex);
    if (sig) {
        report_interrupted(phase, sig, o);
        r = EX_INTERRUPTED;
    }
    if (r == EX_RUNTIME || r == EX_INTERRUPTED)
        mf_executor_shutdown(ex, 0, 1);
    /* Until the workers are released, a rank lost ends the job
     * at once (see watchdog.h). */
    int e = mf_executor_close(ex);
    wd_stop();
    if (e != MF_OK && r == EX_OK) {
        fprintf(stderr, "mf-factorial: close: %s\n", mf_strerror(e));
        r = EX_RUNTIME;
    }
    report_set_executor(NULL);
    return r;
}

/*
 * Two executors, one after the other (every rank opens both):
 *  - the set: the default window keeps workers fed with small tasks;
 *  - the huge N!: window 1, so the few big tasks of each phase land on
 *    different workers instead of queueing behind each other.
 */
/* Started without a launcher, mf-factorial never initialises MPI (an
 * Open MPI singleton's start-up is ~0.4 s, a fifth of the seed job): it
 * opens the library's local pool directly. */
static int g_mpi = 1;

/* The open of a phase: on MPI_COMM_WORLD, or alone a local pool chosen as
 * the library's one-rank open would (MF_BACKEND, MF_WORKERS). */
static int open_phase(const mf_executor_opts *eo, mf_executor **ex)
{
    if (g_mpi)
        return mf_executor_open(MPI_COMM_WORLD, 0, eo, ex);
    const char *be = getenv("MF_BACKEND");
    if (be && strcmp(be, "none") == 0) {
        fprintf(stderr, "mf-factorial: MF_BACKEND=none and no launcher: "
                        "no workers (run under mpirun -n N, or unset it)\n");
        return MF_ENOWORKERS;
    }
    if (be && *be && strcmp(be, "threads") != 0 &&
        strcmp(be, "processes") != 0) {
        fprintf(stderr,
                "mf-factorial: MF_BACKEND='%s' is not processes, "
                "threads or none\n",
                be);
        return MF_EINVAL;
    }
    return mf_executor_open_local(
        be && strcmp(be, "threads") == 0 ? MF_THREADS : MF_PROCESSES, 0, eo,
        ex);
}

static int run_phases(const opts *o, int plan[3], const task_fns *fn,
                      totals *tot)
{
    int rc = EX_OK;
    for (int phase = 1; phase <= 2; phase++) {
        if (!plan[phase])
            continue;
        mf_executor_opts eo;
        phase_opts(&eo, phase);
        mf_executor *ex = NULL;
        int e = open_phase(&eo, &ex);
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: rank %d: executor: %s (%s)\n",
                    g_rank, mf_strerror(e), mf_last_error());
            rc = EX_RUNTIME;
            break;
        }
        if (ex != NULL) { /* root; a worker has served this phase */
            int r = root_phase(ex, phase, o, fn, tot);
            if (r != EX_OK && rc != EX_RUNTIME)
                rc = r;
        }
        if (rc == EX_RUNTIME || rc == EX_INTERRUPTED)
            plan[2] = 0; /* workers learn it from the root: see below */
        /* Every rank must agree whether the next phase runs. */
        if (g_mpi)
            MPI_Bcast(&plan[2], 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    return rc;
}

int main(int argc, char **argv)
{
    int provided = 0;
    early_signals(); /* before MPI's start-up, which takes a while */
    g_mpi = mf_launched();
    if (g_mpi && mf_init(&argc, &argv, &provided) != MF_OK) {
        fprintf(stderr, "mf-factorial: MPI initialisation failed\n");
        return EX_RUNTIME;
    }
    int size = 1;
    g_rank = 0;
    if (g_mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    progress_take_env();
    cli_init_limits();

    /* Rank 0 decides; everyone learns the verdict before any work. */
    opts o;
    memset(&o, 0, sizeof o);
    int plan[3] = {0, 0, 0}; /* verdict, have a set, have a huge N */
    if (g_rank == 0)
        decide(&o, argc, argv, size, plan);
    if (g_mpi)
        MPI_Bcast(plan, 3, MPI_INT, 0, MPI_COMM_WORLD);
    if (plan[0] != EX_OK) {
        free(o.ns);
        mf_finalize();
        return plan[0] < 0 ? EX_OK : plan[0];
    }

    /* Who is who (see ranks.h). */
    ranks_exchange(size, g_mpi);
    if (g_rank != 0)
        wd_start(NULL, 0, &o);

    task_fns fn;
    if (tasks_register(&fn) != MF_OK) {
        fprintf(stderr, "mf-factorial: rank %d: register: %s\n", g_rank,
                mf_last_error());
        if (!g_mpi)
            return EX_RUNTIME;
        MPI_Abort(MPI_COMM_WORLD, EX_RUNTIME);
    }
    if (g_rank != 0 && plan[1])
        tasks_warm_up(); /* the trailing-digit table, before the clock */
    totals tot = {0, 0, 0};
    int rc = run_phases(&o, plan, &fn, &tot);
    if (g_rank == 0 && g_release_errors && rc == EX_OK)
        rc = EX_RUNTIME;
    if (g_rank == 0 && rc != EX_RUNTIME && rc != EX_INTERRUPTED) {
        printf("summary: count=%zu digits=%llu checksum=%llu seconds=%.3f\n",
               o.count, (unsigned long long)tot.digits,
               (unsigned long long)tot.sum, tot.secs);
        fflush(stdout);
    }
    /* A worker stops watching the root before the root may exit. */
    wd_stop();
    if (g_mpi)
        MPI_Barrier(MPI_COMM_WORLD);
    ranks_free();
    free(o.ns);
    progress_free_env();
    mf_finalize();
    return rc;
}
