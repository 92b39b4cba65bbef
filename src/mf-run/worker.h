/*
 * worker.h — the worker side of mf-run: the two task functions the
 * workers serve.
 *
 *   mf-run.init   the executor's initializer: the root's settings
 *                 (protocol.h wsettings), kept for every batch
 *   mf-run.batch  a batch of up to --slots commands (protocol.h), run at
 *                 once, one child per slot; returns when the last of
 *                 them has ended, with a record each
 *
 * Design. The library runs one task at a time per worker rank, in the
 * thread that opened the executor, and a submit cannot choose its rank.
 * So `--slots N` cannot be N library tasks in flight on one worker: one
 * library task is a *batch* of up to N commands. The executor's window
 * keeps the next batches queued on each worker, so no slot waits for a
 * round trip between batches; the cost is that a slot that finishes
 * early in a batch idles until the batch's slowest command ends (uneven
 * commands under --slots > 1 lose up to max-minus-mean per batch; with
 * --slots 1 there is no loss). Timeouts and the stop after a signal or
 * the root's STOP are enforced here, on the worker (job.h job_kill).
 */
#ifndef MF_RUN_WORKER_H
#define MF_RUN_WORKER_H

#include <mpifutures.h>

/* Register mf-run.batch and mf-run.init (every rank, before the open). */
void worker_register(mf_fn_id *fn_batch, mf_fn_id *fn_init);

#endif
