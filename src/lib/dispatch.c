/* dispatch.c — the root's queue of pending futures and sending them.
 *
 * Dispatch keeps a window of tasks in flight per worker so a worker never
 * waits for a round trip; the window adapts to measured task times (short
 * tasks: up to opts.window; long ones: 1, so nothing waits behind a long
 * task). Everything queued for one worker at a time goes out as one
 * message, at most MF_BATCH_BYTES inline. A worker that holds queued
 * tasks and is silent for long while another idles is asked to give back
 * what it has not started (RECALL; the answer is taken in progress.c).
 */
#include "dispatch.h"

#include "link.h"

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "future.h"
#include "journal.h"
#include "lock.h"
#include "observe.h"
#include "rbuf.h"
#include "registry.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MF_BATCH_BYTES ((size_t)1 << 20)
/* Aim for this much queued work per worker when choosing the window. */
#define MF_WINDOW_TARGET_NS 100000.0
/* Mean task time from which a worker gets one task at a time. */
#define MF_LONG_TASK_NS 100e6
/* A worker that holds queued tasks and has sent no results for this long
 * while another is idle is asked to give them back (RECALL); looked at
 * every MF_RECALL_CHECK_SECONDS at most. */
#define MF_RECALL_SECONDS 0.5
#define MF_RECALL_CHECK_SECONDS 0.05
/* Queued tasks a worker looks past one kept off it. */
#define MF_AVOID_SCAN 16

int mf__push_send(mf_executor *ex, mf_send *s, int dest)
{
    if (ex->nsends == ex->capsends) {
        size_t cap = ex->capsends ? 2 * ex->capsends : 16;
        mf_send **ns = mf__realloc(ex->sends, cap * sizeof *ns);
        if (!ns)
            return MF_ENOMEM;
        ex->sends = ns;
        ex->capsends = cap;
    }
    int rc = ex->link->ops->post(ex->link, s, dest);
    if (rc != MF_OK) {
        /* Parts already posted must finish before s can be freed. */
        ex->link->ops->wait(ex->link, s);
        return rc;
    }
    ex->sends[ex->nsends++] = s;
    return MF_OK;
}

mf_fut *mf__pop(mf_executor *ex)
{
    mf_fut *f = ex->qhead;
    if (f) {
        ex->qhead = f->next;
        if (!ex->qhead)
            ex->qtail = NULL;
        f->next = NULL;
        f->queued = 0;
    }
    return f;
}

void mf__enqueue(mf_executor *ex, mf_fut *f)
{
    f->next = NULL;
    f->queued = 1;
    int w = MF_PINNED(f);
    if (w >= 0) { /* its worker's own queue (made at the pinned submit) */
        if (ex->pinq_tail[w])
            ex->pinq_tail[w]->next = f;
        else
            ex->pinq[w] = f;
        ex->pinq_tail[w] = f;
        ex->npinned++;
        return;
    }
    if (ex->qtail)
        ex->qtail->next = f;
    else
        ex->qhead = f;
    ex->qtail = f;
}

int mf__pin_init(mf_executor *ex)
{
    if (ex->pinq)
        return MF_OK;
    ex->pinq = mf__calloc((size_t)ex->size, sizeof *ex->pinq);
    ex->pinq_tail = mf__calloc((size_t)ex->size, sizeof *ex->pinq_tail);
    if (ex->pinq && ex->pinq_tail)
        return MF_OK;
    mf__free(ex->pinq);
    mf__free(ex->pinq_tail);
    ex->pinq = ex->pinq_tail = NULL;
    return MF_ENOMEM;
}

/* Put f (pinned, taken back from its worker) at the front of its
 * worker's queue. */
void mf__pin_requeue_front(mf_executor *ex, mf_fut *f)
{
    int w = MF_PINNED(f);
    f->queued = 1;
    f->next = ex->pinq[w];
    ex->pinq[w] = f;
    if (!ex->pinq_tail[w])
        ex->pinq_tail[w] = f;
    ex->npinned++;
}

/* The first pending task pinned to w, taken out (cancelled ones before it
 * are dropped); NULL if none. */
static mf_fut *mf_pin_pop(mf_executor *ex, int w)
{
    mf_fut *f;
    while (ex->npinned && (f = ex->pinq[w]) != NULL) {
        ex->pinq[w] = f->next;
        if (!ex->pinq[w])
            ex->pinq_tail[w] = NULL;
        ex->npinned--;
        f->next = NULL;
        f->queued = 0;
        if (f->state == MF_FS_PENDING)
            return f;
        mf__fut_maybe_free(f);
    }
    return NULL;
}

/* The task worker w would take next (not taken out): its first pending
 * pinned task, else the head of the shared queue. */
static const mf_fut *mf_head_for(mf_executor *ex, int w)
{
    if (ex->npinned) {
        for (const mf_fut *f = ex->pinq[w]; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                return f;
    }
    return ex->qhead;
}

void mf__queue_cancel_all(mf_executor *ex)
{
    for (mf_fut *f = ex->qhead; f; f = f->next)
        if (f->state == MF_FS_PENDING)
            mf__ex_finish(f, MF_FS_CANCELLED);
    for (int w = 0; ex->npinned && w < ex->size; w++)
        for (mf_fut *f = ex->pinq[w]; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__ex_finish(f, MF_FS_CANCELLED);
}

void mf__queue_drain(mf_executor *ex)
{
    while (ex->qhead)
        mf__fut_maybe_free(mf__pop(ex));
    for (int w = 0; ex->npinned && w < ex->size; w++) {
        mf_fut *f;
        while ((f = ex->pinq[w]) != NULL) {
            ex->pinq[w] = f->next;
            ex->npinned--;
            f->next = NULL;
            f->queued = 0;
            mf__fut_maybe_free(f);
        }
        ex->pinq_tail[w] = NULL;
    }
}

/* Drop cancelled entries at the head of the queue. */
void mf__skip_cancelled(mf_executor *ex)
{
    while (ex->qhead && ex->qhead->state != MF_FS_PENDING) {
        mf_fut *f = mf__pop(ex);
        mf__fut_maybe_free(f);
    }
}

/* The window in units of work (one item of a chunk, or one task): about
 * MF_WINDOW_TARGET_NS of predicted work queued per worker, from the mean
 * time of one unit. Tasks in flight are further capped by opts.window
 * (mf_window); for plain tasks units are tasks, so that cap binds first,
 * while a chunk counts as its items: a map of big chunks after tiny tasks
 * does not pile several chunks on one worker while another idles. */
static uint64_t mf_window_units(const mf_executor *ex, mf_fn_id fn)
{
    unsigned max = ex->opts.window;
    double ns = mf__fncost(ex, fn);
    /* Long tasks: one at a time per worker (a round trip is nothing next
     * to them), so no task waits on a worker behind a long one. */
    if (ns >= MF_LONG_TASK_NS)
        return 1;
    /* Unknown (a function not seen yet): cautious until its first
     * result, so a first batch of heavy tasks spreads over the workers. */
    if (max <= 2 || ns < 0)
        return max < 2 ? max : 2;
    double w = 2.0 + MF_WINDOW_TARGET_NS / (ns + 1.0);
    return w >= 1e12 ? (uint64_t)1e12 : (uint64_t)w;
}

static size_t mf_fncost_slot(mf_fn_id fn)
{
    return (size_t)((fn ^ (fn >> 29) ^ (fn >> 47)) % MF_FNCOST_SLOTS);
}

double mf__fncost(const mf_executor *ex, mf_fn_id fn)
{
    size_t i = mf_fncost_slot(fn);
    return ex->fncost[i].fn == fn ? ex->fncost[i].ns : -1;
}

void mf__fncost_note(mf_executor *ex, mf_fn_id fn, double ns)
{
    size_t i = mf_fncost_slot(fn);
    if (ex->fncost[i].fn != fn || ex->fncost[i].ns < 0) {
        ex->fncost[i].fn = fn;
        ex->fncost[i].ns = ns;
    } else {
        ex->fncost[i].ns = 0.9 * ex->fncost[i].ns + 0.1 * ns;
    }
}

static unsigned mf_window(const mf_executor *ex, uint64_t units)
{
    unsigned max = ex->opts.window;
    return units >= max ? max : (unsigned)units;
}

static uint64_t mf_units(const mf_fut *f)
{
    return f->nitems ? f->nitems : 1;
}

void mf__inflight_done(mf_executor *ex, int w, const mf_fut *f)
{
    uint64_t u = mf_units(f);
    if (ex->inflight[w])
        ex->inflight[w]--;
    ex->inflight_units[w] =
        ex->inflight_units[w] > u ? ex->inflight_units[w] - u : 0;
}

/* Move one queued future into message `s` for worker `w`. */
static int mf_pack(mf_executor *ex, mf_send *s, mf_fut *f, int w)
{
    mf_free_fn release = f->arg_free                       ? f->arg_free
                         : f->arg != (void *)f->inline_buf ? mf__free
                                                           : NULL;
    mf_future h = mf__fut_handle(f);
    uint32_t flags = (f->nitems ? MF_REC_CHUNK : 0) |
                     (f->isolate || f->timeout_ms ? MF_REC_ISOLATE : 0);
    int rc = mf__wire_add_task_t(s, h.h, f->fn, f->arg, f->arg_len, release,
                                 flags, f->timeout_ms);
    f->arg = NULL; /* now owned by the message (or freed) */
    if (rc != MF_OK) {
        static const char m[] = "out of memory sending the task";
        mf__ex_fail(ex, f, ex->rank, MF_FAIL_TASK, m, sizeof m - 1);
        return rc;
    }
    f->state = MF_FS_RUNNING;
    f->worker = w;
    ex->inflight[w]++;
    ex->inflight_units[w] += mf_units(f);
    ex->obs.w[w].bytes_in += f->arg_len;
    return MF_OK;
}

/* Taking back tasks queued on a worker that is busy for long (RECALL):
 * when, after dispatching, nothing is queued here and a worker is idle,
 * a worker that holds tasks (more than the one it runs) and has sent no
 * results for MF_RECALL_SECONDS is asked to give back those it has not
 * started. It answers (RETURNED) between tasks, or at once while an
 * isolated task runs; the root queues them again in front, and the
 * dispatch gives them to the idle worker. The worker alone decides what
 * has not started, so a task runs exactly once. */
void mf__recall_init(mf_executor *ex)
{
    if (ex->heard_at || ex->size <= 0)
        return;
    ex->heard_at = mf__calloc((size_t)ex->size, sizeof *ex->heard_at);
    ex->recalling = mf__calloc((size_t)ex->size, 1);
    if (!ex->heard_at || !ex->recalling) {
        /* Without memory there is no taking back: nothing else changes. */
        mf__free(ex->heard_at);
        mf__free(ex->recalling);
        ex->heard_at = NULL;
        ex->recalling = NULL;
        return;
    }
    double now = mf__now();
    for (int i = 0; i < ex->size; i++)
        ex->heard_at[i] = now;
}

int mf__recall_check(mf_executor *ex, bool *act)
{
    int idle = 0, holders = 0;
    if (!ex->heard_at || ex->qhead || ex->released || ex->interrupted)
        return MF_OK;
    for (int k = 0; k < ex->nworkers; k++) {
        idle += ex->inflight[ex->workers[k]] == 0;
        holders += ex->inflight[ex->workers[k]] >= 2;
    }
    if (!idle || !holders) /* (nothing to take back: no clock read) */
        return MF_OK;
    double now = mf__now();
    if (now < ex->recall_check_at)
        return MF_OK;
    ex->recall_check_at = now + MF_RECALL_CHECK_SECONDS;
    for (int k = 0; k < ex->nworkers && idle > 0; k++) {
        int w = ex->workers[k];
        if (ex->recalling[w] || ex->inflight[w] < 2 ||
            now - ex->heard_at[w] < MF_RECALL_SECONDS)
            continue;
        mf_send *s = mf__malloc(sizeof *s);
        if (!s || mf__wire_begin(s, MF_MSG_RECALL) != MF_OK) {
            mf__free(s);
            return MF_OK; /* (tried again later) */
        }
        int rc = mf__wire_finish(s);
        if (rc == MF_OK)
            rc = mf__push_send(ex, s, w);
        if (rc != MF_OK) {
            mf__wire_free(s);
            mf__free(s);
            return rc == MF_ENOMEM ? MF_OK
                                   : mf__fail(rc,
                                              "failed to recall tasks "
                                              "from rank %d",
                                              w);
        }
        ex->recalling[w] = 1;
        idle--;
        *act = true;
    }
    return MF_OK;
}

/* Out of memory or an MPI failure: the npacked tasks of `s` (in
 * ex->packed) were not sent to w. Fail their futures, so nothing waits
 * forever, and return the error. */
static int mf_send_failed(mf_executor *ex, mf_send *s, int w, size_t npacked,
                          int rc)
{
    char m[160];
    int n = snprintf(m, sizeof m, "could not send the task to rank %d: %s", w,
                     mf_strerror(rc));
    mf__wire_free(s);
    mf__free(s);
    for (size_t i = 0; i < npacked; i++) {
        mf__inflight_done(ex, w, ex->packed[i]);
        mf__ex_fail(ex, ex->packed[i], w, MF_FAIL_TASK, m, (size_t)n);
    }
    return mf__fail(rc, "failed to send tasks to rank %d", w);
}

/* The next queued task for worker w: the first pinned to w
 * (mf_submit_opts.pin), else the head, unless it is kept off w
 * (mf_submit_opts.avoid) and there is another worker to run it: then the
 * first of the next few that is not, taken out of the queue; the kept-off
 * task stays at the head for the others. NULL: nothing for w now. */
static mf_fut *mf_pop_for(mf_executor *ex, int w)
{
    mf_fut *prev, *f;
    if (ex->npinned && (f = mf_pin_pop(ex, w)) != NULL)
        return f;
    prev = ex->qhead;
    if (!prev || MF_AVOIDS(prev) != w || ex->nworkers < 2)
        return mf__pop(ex);
    for (int k = 0; k < MF_AVOID_SCAN && (f = prev->next) != NULL; k++) {
        if (MF_AVOIDS(f) != w && f->state == MF_FS_PENDING) {
            prev->next = f->next;
            if (ex->qtail == f)
                ex->qtail = prev;
            f->next = NULL;
            f->queued = 0;
            return f;
        }
        prev = f;
    }
    return NULL;
}

int mf__dispatch(mf_executor *ex, bool *act)
{
    int nw = ex->nworkers;
    int rc = MF_OK;
    /* Start with the worker that answered last: with little work about,
     * one warm worker serves it and the others stay asleep. Two passes:
     * first every idle worker gets one task (so two long tasks never queue
     * on one worker while another idles), then windows are filled. */
    int start =
        ex->last_src < 0
            ? ex->rr
            : (ex->last_src < ex->root ? ex->last_src : ex->last_src - 1);
    mf__recall_init(ex);
    mf_fn_id wfn = 0;
    uint64_t uwin = 0;
    unsigned window = 0;
    for (int k = 0; k < 2 * nw; k++) {
        int pass1 = k < nw;
        mf__skip_cancelled(ex);
        if (!ex->qhead && !ex->npinned)
            break;
        int w = ex->workers[(start + k) % nw];
        const mf_fut *h = mf_head_for(ex, w);
        if (!h)
            continue;
        /* The window follows the function of the task w would take next
         * (worked out again only when that function changes). */
        if (k == 0 || h->fn != wfn) {
            wfn = h->fn;
            uwin = mf_window_units(ex, wfn);
            window = mf_window(ex, uwin);
        }
        if (ex->inflight[w] >= window || ex->inflight_units[w] >= uwin ||
            (pass1 && ex->inflight[w] > 0))
            continue;
        /* Batch: an idle worker gets work at once (latency); a busy one
         * only once half its window is free, so messages carry many
         * tasks while the worker still has half a window to chew on. */
        if (ex->inflight[w] > 0 && window >= 4 &&
            ex->inflight[w] > window / 2)
            continue;
        long room = pass1 ? 1 : (long)window - (long)ex->inflight[w];
        if (ex->inflight[w] == 0 && ex->heard_at)
            ex->heard_at[w] = mf__now(); /* busy from now */
        mf_send *s = mf__malloc(sizeof *s);
        if (!s || mf__wire_begin(s, MF_MSG_TASKS) != MF_OK) {
            mf__free(s);
            return mf__fail(MF_ENOMEM, "out of memory dispatching tasks");
        }
        size_t bytes = 0, npacked = 0;
        while (room > 0 && bytes < MF_BATCH_BYTES &&
               npacked < ex->opts.window) {
            mf__skip_cancelled(ex);
            /* A chunk that would overfill the window waits (unless the
             * worker has nothing: it gets one whatever its size). */
            h = mf_head_for(ex, w);
            if (h && (npacked > 0 || ex->inflight[w] > 0) &&
                ex->inflight_units[w] + mf_units(h) > uwin)
                break;
            mf_fut *f = mf_pop_for(ex, w);
            if (!f)
                break;
            bytes += f->arg_len;
            if (mf_pack(ex, s, f, w) != MF_OK)
                continue;
            ex->packed[npacked++] = f;
            room--;
        }
        if (s->count == 0) {
            mf__wire_free(s);
            mf__free(s);
            continue;
        }
        if (ex->qhead || ex->npinned)
            mf__wire_set_flags(s, MF_HDR_MORE);
        rc = mf__wire_finish(s);
        if (rc == MF_OK)
            rc = mf__push_send(ex, s, w);
        if (rc != MF_OK)
            return mf_send_failed(ex, s, w, npacked, rc);
        *act = true;
    }
    if (nw)
        ex->rr = (ex->rr + 1) % nw;
    if (rc == MF_OK)
        rc = mf__recall_check(ex, act);
    return rc;
}

int mf__release_workers(mf_executor *ex)
{
    int rc = MF_OK;
    for (int k = 0; k < ex->nworkers; k++) {
        if (mf__link_shutdown(ex->link, ex->workers[k]) != MF_OK)
            rc = mf__fail(MF_EMPI, "failed to release rank %d",
                          ex->workers[k]);
    }
    ex->released = true;
    return rc;
}

/* Dispatch without polling for results (submit's fast path). */
int mf__dispatch_only(mf_executor *ex)
{
    bool act = false;
    int rc = MF_OK;
    if (ex->in_progress || ex->released)
        return MF_OK;
    ex->in_progress = true;
    bool queued = ex->qhead || ex->npinned;
    if (queued && ex->comm == MPI_COMM_NULL) { /* a pool: no MPI */
        rc = mf__dispatch(ex, &act);
    } else if (queued) {
        mf__mpi_quiet_enter();
        rc = mf__dispatch(ex, &act);
        mf__mpi_quiet_leave();
    }
    ex->in_progress = false;
    return rc;
}
