/*
 * root_loop.h — the root's run: dispatch the commands in batches, take
 * the results, retry, halt, stop on a signal, and say how it went.
 *
 * Design: the root reads its input as it dispatches, with a bounded
 * number of batches outstanding (3 per worker, plus 2; with --slots N > 1
 * one task per rank and at most 2N commands there, ranks.h), so 10^6
 * lines never sit in memory. One
 * loop, polling every 0.1 s, sees a signal (g_signal) and the --halt
 * threshold between its steps; a stop sends STOP to the workers (they
 * give the running commands the grace, then kill them) and cancels the
 * batches not started. The exit status comes from the counts: 0, the
 * number of failed tasks (at most 100), EX_INTERRUPTED or EX_BADINPUT.
 */
#ifndef MF_RUN_ROOT_LOOP_H
#define MF_RUN_ROOT_LOOP_H

#include <mpifutures.h>

#include "root.h"

/* Run every task of R on ex (fn: the workers' mf-run.batch and
 * mf-run.slots, worker.h) and print the summary: the exit status. */
int root_main(root *R, mf_executor *ex, const mf_fn_id fn[2], int nranks);

#endif
