/*
 * dispatch.h — the root's queue and sending (dispatch.c). Lock held for
 * all of these.
 */
#ifndef MF_DISPATCH_H
#define MF_DISPATCH_H

#include "executor.h"
#include "wire.h"

#include <stdbool.h>

/* Fill the workers' windows from the queue; *act set if anything went. */
int mf__dispatch(mf_executor *ex, bool *act);
/* A task of worker w ended or came back: it no longer counts in w's
 * window (its tasks and its units: a chunk counts its items). */
void mf__inflight_done(mf_executor *ex, int w, const mf_fut *f);
/* The root's mean time of one unit of fn (ns), -1 if not known; and
 * noting a measured one. */
double mf__fncost(const mf_executor *ex, mf_fn_id fn);
void mf__fncost_note(mf_executor *ex, mf_fn_id fn, double ns);
/* The same without polling for results (submit's fast path). */
int mf__dispatch_only(mf_executor *ex);
/* Take the first future off the queue (NULL if empty). */
mf_fut *mf__pop(mf_executor *ex);
/* The per-worker queues of pinned tasks, made on first use: MF_OK or
 * MF_ENOMEM. */
int mf__pin_init(mf_executor *ex);
/* A pinned task taken back from its worker: first in its queue again. */
void mf__pin_requeue_front(mf_executor *ex, mf_fut *f);
/* Cancel every pending queued task, pinned ones included. */
void mf__queue_cancel_all(mf_executor *ex);
/* Empty every queue at close, freeing what nobody holds. */
void mf__queue_drain(mf_executor *ex);
/* Drop cancelled futures from the head of the queue. */
void mf__skip_cancelled(mf_executor *ex);
/* Post a built message to worker `dest` and keep it until it is sent. */
int mf__push_send(mf_executor *ex, mf_send *s, int dest);
/* Ask a worker silent for long to give back unstarted tasks, when
 * another idles (at most every few tens of milliseconds). */
int mf__recall_check(mf_executor *ex, bool *act);
/* Per-rank recall bookkeeping, allocated on first use. */
void mf__recall_init(mf_executor *ex);
/* Tell every worker to stop serving; ex->released set. */
int mf__release_workers(mf_executor *ex);

#endif
