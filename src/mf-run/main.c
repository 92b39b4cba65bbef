/*
 * mf-run: a command-line task farm on mpifutures (issue 14). Shell
 * commands from a task file, stdin or `CMD ::: VALUES` run on the worker
 * ranks, GNU-parallel style, with a job log, resume, retries, timeouts and
 * walltime handling. A program on the public API only, like any user's.
 *
 *     mpirun -n N mf-run [OPTIONS] TASKFILE|-
 *     mf-run [-j N] [OPTIONS] ...          (alone: one machine)
 *
 * Rank 0 parses the command line and checks the input and the job log
 * (root.h), and tells every rank whether to go on, so bad input ends
 * every rank before any task runs. Then every rank opens an executor;
 * the workers serve mf-run.batch and mf-run.slots (worker.h: commands
 * in batches, or with --slots N > 1 a rank's running set that outlives
 * each task), the root dispatches them and prints what they return
 * (root_loop.h). Run alone (no launcher, or one rank), MPI
 * is never initialised (an Open MPI singleton's start-up alone costs
 * about 0.4 s) and the workers are a local pool of processes.
 *
 * The files, each one concept, dependencies one way (top to bottom):
 *   main.c        this: the ranks' agreement, the executor, the end
 *   root_loop.c   the root's run: dispatch, retries, halt, the summary
 *   ranks.c       --slots N > 1: each rank's commands, one task per rank
 *   batch.c       a batch on the root: submit, result records, retries
 *   root.c        the root's state and its checks before any task runs
 *   output.c      printing the tasks' output (--tag, --keep-order)
 *   joblog.c      the job log: records, loading, resume matching
 *   input.c       task file, ::: values, --args, {} substitution
 *   cli.c         the options and --help
 *   worker.c      the workers' tasks: settings, the batch loop, the stop
 *   job.c         one command: spawn, capture, end, kill
 *   direct.c      the start without /bin/sh of plain commands
 *   control.c     the signals and the root-to-worker control channel
 *   protocol.c    what root and workers exchange (settings, records)
 *   common.c      exit statuses, identity, clocks, messages, memory
 *
 * Design: every rank runs the same main, and every collective step (the
 * verdict, the control channel, the executor's open and close, the one
 * control message per worker) is taken by all ranks in the same order;
 * only the root's side of the run differs.
 */
#define _GNU_SOURCE
#include <mpifutures.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "control.h"
#include "root.h"
#include "root_loop.h"
#include "worker.h"

/* MF_RUN_PEAK_RSS=1: each rank prints its peak resident size (VmHWM) at
 * the end, for the tests and scripts/bench-run. */
static void report_peak_rss(int rank)
{
    const char *e = getenv("MF_RUN_PEAK_RSS");
    if (!e || strcmp(e, "1") != 0)
        return;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            fprintf(stderr, "mf-run: rank %d peak RSS %ld KiB\n", rank,
                    strtol(line + 6, NULL, 10));
    fclose(f);
}

/* Before anything: the environment, the signals, MPI (under a launcher
 * only), this rank's identity. 0, or EX_INTERNAL. */
static int start_up(int *argc, char ***argv, int *rank, int *nranks)
{
    /* mf-run does these itself; the library's versions would fight it. */
    unsetenv("MF_SIGNALS");
    unsetenv("MF_ISOLATE");
    unsetenv("MF_TASK_TIMEOUT");
    unsetenv("MF_JOURNAL");
    /* Alone (no launcher), MPI is never initialised: an Open MPI
     * singleton's start-up alone costs about 0.4 s. */
    /* From the start: a batch system's warning during MPI's start-up or
     * the input check is recorded (the run then stops at once, exit 5),
     * not the default action that kills a rank without a word. */
    catch_signals();
    g_mpi = mf_launched();
    if (g_mpi && mf_init(argc, argv, NULL) != MF_OK) {
        fprintf(stderr, "mf-run: MPI initialisation failed\n");
        return EX_INTERNAL;
    }
    *rank = 0;
    *nranks = 1;
    if (g_mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, rank);
        MPI_Comm_size(MPI_COMM_WORLD, nranks);
    }
    g_rank = *rank;
    if (gethostname(g_host, sizeof g_host) != 0)
        snprintf(g_host, sizeof g_host, "?");
    g_host[sizeof g_host - 1] = 0;
    return 0;
}

/* Rank 0: the command line and the checks before any task runs. 0 to
 * run, -1 to exit 0 (help), or an exit status. */
static int root_verdict(root *R, int argc, char **argv, int nranks)
{
    int status = parse_opts(argc, argv, &R->o);
    if (status == 0)
        status = check_mode(&R->o, nranks);
    if (status == 0)
        status = root_prepare(R);
    return status;
}

/* Every rank: register the tasks and open the executor (the root's
 * settings go to the workers as the initializer's argument). */
static int open_executor(root *R, mf_executor **ex, mf_fn_id fn[2])
{
    mf_fn_id fn_init;
    worker_register(&fn[0], &fn[1], &fn_init);
    mf_executor_opts eo;
    mf_executor_opts_init(&eo);
    /* --slots N > 1 refills a rank's slot when the root sees its task
     * end: keep the root's idle sleeps short (1 ms), so a slot idles for
     * at most that long between commands. */
    if (R->o.slots > 1)
        eo.idle_sleep_max_us = 1000;
    eo.initializer = fn_init;
    eo.initializer_arg = &R->set;
    eo.initializer_len = sizeof R->set;
    return g_mpi ? mf_executor_open(MPI_COMM_WORLD, 0, &eo, ex)
                 : mf_executor_open_local(MF_PROCESSES, 0, &eo, ex);
}

/* The run on every rank (the executor's open, the root's loop, its
 * close; a worker rank serves inside the open): the exit status. */
static int run(root *R, int rank, int nranks)
{
    mf_executor *ex = NULL;
    mf_fn_id fn[2];
    int rc = open_executor(R, &ex, fn);
    if (rc != MF_OK) {
        if (rank == 0)
            die_msg("cannot open the executor: %s: %s", mf_strerror(rc),
                    mf_last_error());
        return EX_INTERNAL;
    }
    if (rank != 0) {
        ctrl_wait_end();
        return 0;
    }
    R->nworkers = mf_executor_workers(ex);
    ctrl_root_begin(nranks);
    int status = root_main(R, ex, fn, nranks);
    mf_executor_shutdown(ex, 1, 1);
    mf_executor_close(ex);
    ctrl_root_end(nranks);
    return status;
}

int main(int argc, char **argv)
{
    int rank, nranks;
    if (start_up(&argc, &argv, &rank, &nranks) != 0)
        return EX_INTERNAL;
    static root R;
    int status = 0;
    if (rank == 0)
        status = root_verdict(&R, argc, argv, nranks);
    if (g_mpi)
        MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (status != 0) {
        root_remove_spill(&R);
        mf_finalize();
        return status < 0 ? 0 : status;
    }
    if (ctrl_open(nranks) != 0) {
        mf_finalize();
        return EX_INTERNAL;
    }
    status = run(&R, rank, nranks);
    if (rank == 0)
        root_finish(&R);
    ctrl_close();
    report_peak_rss(rank);
    mf_finalize();
    return status;
}
