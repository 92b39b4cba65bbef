/*
 * suite_main.c — multi-rank tests of the public API (include/mpifutures.h):
 * main(), the options and the ordered list of scenarios. The tests live in
 * one file per area (test_<area>.c); suite.h declares what the list names
 * and the helpers the areas share.
 *
 * Usage: mpirun -n N mf_mpi_suite [--threads=single|funneled|serialized|
 *        multiple|mfinit] [--layout=world|world-last|split]
 * [--progress-thread]
 *        mf_mpi_suite --backend=processes|threads [--workers=N]
 *        [--progress-thread]
 *
 *   --progress-thread  open every executor with opts.progress_thread = 1
 *                      (needs --threads=multiple with MPI)
 *   --backend          mpi (the default: MPI ranks under the launcher), or
 *                      a local pool of mf_executor_open_local() run as a
 *                      plain process, MPI never initialised: the same
 *                      scenarios but the MPI-only ones (g_mpi_only, each
 *                      skipped with its reason)
 *   --workers=N        the local pool's workers (default 3)
 *
 *   world       executors on MPI_COMM_WORLD, root 0
 *   world-last  executors on MPI_COMM_WORLD, root = last rank
 *   split       the world is split in two halves; each half runs the whole
 *               suite at the same time on its own communicator. The upper
 *               half (without world rank 0) uses its last local rank as
 *               root; the lower half uses local rank 0 (with a single rank
 *               it checks MF_ENOWORKERS instead).
 *
 * Every scenario opens one executor (all ranks call mf_executor_open the
 * same number of times); see mft.h. Nothing here sleeps: "running" and
 * "queued" are made deterministic with gates (tasks blocked in MPI_Recv
 * until the root releases them; on a local pool, polling a shared word)
 * and window = 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_used_mf_init;

static void opts_window1(mf_executor_opts *o)
{
    o->window = 1;
}

/* =================================================================== */
/* The list                                                             */
/* =================================================================== */

/* Every rank walks it in this order. One entry per scenario: name, setup,
 * opts, what the open must return, after_open, pre_open, post_close,
 * all_ranks, tests (see mft_scenario in mft.h); the tables and hooks come
 * from the test_<area>.c files, declared in suite.h. */

static const mft_scenario g_scenarios[] = {
    {"api_local", NULL, NULL, MF_OK, NULL, NULL, NULL, ar_api_local, NULL},
    {"reopen_moving_root", NULL, NULL, MF_OK, NULL, NULL, NULL, ar_reopen,
     NULL},
    {"futures_basic", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_basic},
    {"task_errors", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_errors},
    {"cancel", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_cancel},
    {"cancel_env_MF_WINDOW_1", setup_env_window1, NULL, MF_OK, NULL, NULL,
     post_env_window1, NULL, tests_cancel},
    {"progress_thread", NULL, opts_progress, MF_OK, NULL, NULL, NULL, NULL,
     tests_progress_thread},
    {"callbacks", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_callbacks},
    {"callbacks_more", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_callbacks_more},
    {"lifetime", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_lifetime},
    {"helpers", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_helpers},
    {"mf_run_frame", NULL, NULL, MF_OK, NULL, NULL, NULL, ar_mf_run, NULL},
    {"threads", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_threads},
    {"wait", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL, tests_wait},
    {"as_completed", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_as_completed},
    {"map", NULL, opts_map, MF_OK, NULL, NULL, NULL, NULL, tests_map},
    {"map_gated", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_map_gated},
    {"shutdown_nowait", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_shutdown_nowait},
    {"shutdown_cancel_futures", NULL, opts_window1, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_cancel},
    {"shutdown_wait_zero_opts", NULL, opts_zero, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_wait},
    {"map_without_iteration", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_map_no_iter},
    {"shutdown_then_callback_submits", NULL, NULL, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_cb},
    {"fire_and_forget", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_fire_and_forget},
    {"stats_progress_trace", NULL, opts_stats, MF_OK, NULL, NULL, pc_trace,
     NULL, tests_stats},
    {"close_keeps_futures", NULL, NULL, MF_OK, NULL, NULL, pc_close_keeps,
     NULL, tests_close_keeps},
    {"user_traffic", NULL, NULL, MF_OK, NULL, pre_traffic, post_traffic, NULL,
     tests_traffic},
    {"mismatch_root_only", setup_mismatch_root_only, NULL, MF_EMISMATCH,
     ao_mismatch_root_only, NULL, NULL, NULL, NULL},
    {"mismatch_worker_only", setup_mismatch_worker_only, NULL, MF_EMISMATCH,
     ao_mismatch_worker_only, NULL, NULL, NULL, NULL},
    {"after_mismatch", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_after_mismatch},
    {"big_results", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_big},
};

/* Scenarios that only make sense with MPI ranks: a local run (--backend)
 * skips them, printing why, and counts them. Every other scenario runs on
 * every backend; where a local pool legitimately differs the test itself
 * says so (mft_local). */
static const mft_mpi_only g_mpi_only[] = {
    {"mf_run_frame", "mf_run() opens on a communicator, with MPI "
                     "initialised"},
    {"user_traffic", "user MPI messages on the executor's communicator, "
                     "sent by tasks"},
    {"mismatch_root_only", "registries that differ between ranks (a forked "
                           "or threaded worker has the root's)"},
    {"mismatch_worker_only", "registries that differ between ranks (a "
                             "forked or threaded worker has the root's)"},
};

/* =================================================================== */
/* main                                                                 */
/* =================================================================== */

/* A local run (--backend=processes|threads): no launcher, no MPI. */
static int main_local(const char *backend, int nw)
{
    int kind = strcmp(backend, "processes") == 0 ? MF_PROCESSES
               : strcmp(backend, "threads") == 0 ? MF_THREADS
                                                 : 0;
    int fails;
    if (!kind || nw < 1 || nw > MAXW) {
        fprintf(stderr, "bad --backend=%s or --workers=%d (1 to %d)\n",
                backend, nw, MAXW);
        return 2;
    }
    if (getenv("MF_WORKERS")) { /* it would override the count */
        printf("mf_mpi_suite: MF_WORKERS=%s ignored (--workers=%d)\n",
               getenv("MF_WORKERS"), nw);
        unsetenv("MF_WORKERS");
    }
    printf("mf_mpi_suite: local pool, backend=%s, %d workers, MPI not "
           "initialised%s\n",
           backend, nw, mft_force_progress_thread ? ", progress thread" : "");
    fails = mft_run_local(
        kind, nw, g_scenarios, sizeof g_scenarios / sizeof g_scenarios[0],
        g_mpi_only, sizeof g_mpi_only / sizeof g_mpi_only[0]);
    printf("mf_mpi_suite: %s\n", fails ? "FAILED" : "all passed");
    return fails ? 1 : 0;
}

static int level_of(const char *s)
{
    if (strcmp(s, "single") == 0)
        return MPI_THREAD_SINGLE;
    if (strcmp(s, "funneled") == 0)
        return MPI_THREAD_FUNNELED;
    if (strcmp(s, "serialized") == 0)
        return MPI_THREAD_SERIALIZED;
    if (strcmp(s, "multiple") == 0)
        return MPI_THREAD_MULTIPLE;
    return -1;
}

int main(int argc, char **argv)
{
    const char *threads = "multiple", *layout = "world", *backend = "mpi";
    int i, provided = -1, wrank, wsize, fails = 0, all = 0, nw = 3;
    size_t n = sizeof g_scenarios / sizeof g_scenarios[0];
    const mft_scenario *scns = g_scenarios;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--progress-thread") == 0) {
            mft_force_progress_thread = 1;
        } else if (strncmp(argv[i], "--threads=", 10) == 0)
            threads = argv[i] + 10;
        else if (strncmp(argv[i], "--layout=", 9) == 0)
            layout = argv[i] + 9;
        else if (strncmp(argv[i], "--backend=", 10) == 0)
            backend = argv[i] + 10;
        else if (strncmp(argv[i], "--workers=", 10) == 0)
            nw = atoi(argv[i] + 10);
    }
    if (strcmp(backend, "mpi") != 0)
        return main_local(backend, nw);
    if (strcmp(threads, "mfinit") == 0) {
        if (mf_init(&argc, &argv, &provided) != MF_OK) {
            fprintf(stderr, "mf_init failed\n");
            return 2;
        }
        g_used_mf_init = 1;
        {
            int q = -1;
            MPI_Query_thread(&q);
            if (q != provided) {
                fprintf(stderr, "mf_init: provided %d, MPI says %d\n",
                        provided, q);
                return 1;
            }
        }
    } else {
        int want = level_of(threads);
        if (want < 0) {
            fprintf(stderr, "bad --threads=%s\n", threads);
            return 2;
        }
        MPI_Init_thread(&argc, &argv, want, &provided);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (wrank == 0)
        printf("mf_mpi_suite: %d ranks, threads=%s (provided %d), "
               "layout=%s\n",
               wsize, threads, provided, layout);

    if (strcmp(layout, "world") == 0) {
        fails = mft_run(MPI_COMM_WORLD, 0, scns, n, "world");
    } else if (strcmp(layout, "world-last") == 0) {
        fails = mft_run(MPI_COMM_WORLD, wsize - 1, scns, n, "world-rootlast");
    } else if (strcmp(layout, "split") == 0) {
        int h = wsize / 2, upper = wrank >= h, lsize;
        MPI_Comm half;
        MPI_Comm_split(MPI_COMM_WORLD, upper, wrank, &half);
        MPI_Comm_size(half, &lsize);
        if (upper) {
            /* without world rank 0; root is its last (non-zero) rank */
            fails = mft_run(half, lsize - 1, scns, n, "half-B");
        } else if (lsize >= 2) {
            fails = mft_run(half, 0, scns, n, "half-A");
        } else {
            mf_executor *ex = (mf_executor *)&half;
            int rc = mf_executor_open(half, 0, NULL, &ex);
            if (rc != MF_ENOWORKERS || ex != NULL) {
                fprintf(stderr, "half-A: open on 1 rank gave %s\n",
                        mf_errname(rc));
                fails++;
            }
        }
        MPI_Comm_free(&half);
    } else {
        fprintf(stderr, "bad --layout=%s\n", layout);
        fails = 1;
    }

    /* mf_finalize in a program that initialised MPI itself: no-op */
    if (!g_used_mf_init) {
        int fin = 1;
        if (mf_finalize() != MF_OK) {
            fprintf(stderr, "rank %d: mf_finalize failed\n", wrank);
            fails++;
        }
        MPI_Finalized(&fin);
        if (fin) {
            fprintf(stderr, "rank %d: mf_finalize finalised MPI\n", wrank);
            return 1;
        }
    }
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (wrank == 0)
        printf("mf_mpi_suite: %s\n", all ? "FAILED" : "all passed");
    if (g_used_mf_init) {
        /* mf_init() initialised MPI, so mf_finalize() finalises it */
        int fin = 0;
        if (mf_finalize() != MF_OK) {
            fprintf(stderr, "rank %d: mf_finalize failed\n", wrank);
            fails++;
        }
        MPI_Finalized(&fin);
        if (!fin) {
            fprintf(stderr, "rank %d: MPI not finalised by mf_finalize\n",
                    wrank);
            fails++;
            MPI_Finalize();
        }
    } else {
        MPI_Finalize();
    }
    return fails ? 1 : 0;
}
