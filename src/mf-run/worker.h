/*
 * worker.h — the worker side of mf-run: the task functions the workers
 * serve.
 *
 *   mf-run.init   the executor's initializer: the root's settings
 *                 (protocol.h wsettings), kept for every batch
 *   mf-run.batch  --slots 1: a batch of commands (protocol.h), run one
 *                 after another; returns when the last has ended, with
 *                 a record each
 *   mf-run.slots  --slots N > 1: commands (possibly none) added to the
 *                 rank's running set; returns as soon as any of the
 *                 rank's commands has ended, with the records of those
 *                 that have; the others run on into the rank's next task
 *
 * Design. The library runs one task at a time per worker rank, in the
 * thread that opened the executor. With one slot a batch per task is
 * enough: the executor's window keeps the next batches queued on each
 * worker, so the slot never waits for a round trip. With N slots, a batch
 * run as a unit would leave a slot that frees early idle until the
 * batch's slowest command ends; so instead the commands outlive their
 * task: the root pins every task to its rank (mf_submit_opts.pin), keeps
 * one out per rank, and tops the rank up to N running commands (plus N
 * waiting, when commands are short) each time a task comes back.
 * Timeouts and the stop after a signal or the root's STOP are enforced
 * here, on the worker (job.h job_kill), in both modes.
 */
#ifndef MF_RUN_WORKER_H
#define MF_RUN_WORKER_H

#include <mpifutures.h>

/* Register mf-run.batch, mf-run.slots and mf-run.init (every rank,
 * before the open). */
void worker_register(mf_fn_id *fn_batch, mf_fn_id *fn_slots,
                     mf_fn_id *fn_init);

#endif
