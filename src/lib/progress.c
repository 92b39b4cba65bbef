/* progress.c — the root's progress engine.
 *
 * Progress is caller-driven: every library call on the root makes a
 * non-blocking pass (receive results, reap finished sends, run the
 * deferred callbacks of what completed, dispatch queued tasks), and
 * blocking calls repeat passes with an idle backoff (clock.c). With
 * opts.progress_thread a thread of the library's own makes the passes
 * while no caller waits. Results are taken in here: a RESULTS message
 * completes futures, a RETURNED message (the answer to a RECALL) puts
 * tasks back on the queue. Open executors are kept on one list, so a wait
 * on one future moves every executor of the process.
 */
#include "progress.h"

#include "alloc.h"
#include "clock.h"
#include "dispatch.h"
#include "errors.h"
#include "future.h"
#include "journal.h"
#include "link.h"
#include "lock.h"
#include "observe.h"
#include "rbuf.h"
#include "registry.h"
#include "signals.h"
#include "wire.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static mf_executor *mf_open_list;
int mf__waiters;
static void *mf_progress_thread(void *arg);
static int mf_wait_loop(bool (*pred)(void *), void *ctx, double deadline);

/* Root: make a set-up executor live: on the list of open executors,
 * signal handlers, progress thread. On failure it is closed. */
int mf__ex_start(mf_executor *ex)
{
    mf__lock();
    ex->next_open = mf_open_list;
    mf_open_list = ex;
    if (ex->opts.handle_signals && mf__signals_install() == MF_OK)
        ex->signals = true;
    if (ex->opts.progress_thread) {
        if (pthread_create(&ex->thread, NULL, mf_progress_thread, ex) == 0) {
            ex->has_thread = true;
        } else {
            /* The caller closes it: closing lives above this file. */
            mf__unlock();
            return MF_ENOMEM;
        }
    }
    mf__unlock();
    return MF_OK;
}

/* Handle a RETURNED message from `src`: the tasks it had not started when
 * our RECALL came, which it dropped. They go back to the front of the
 * queue, in their order, with their arguments (the root's copies were
 * released once sent), and are pending again. */
static int mf_take_returned(mf_executor *ex, int src, mf_wire_reader *r)
{
    mf_wire_rec rec;
    mf_fut *first = NULL, *last = NULL;
    int rc;
    if (ex->recalling)
        ex->recalling[src] = 0;
    if (ex->heard_at)
        ex->heard_at[src] = mf__now();
    while ((rc = mf__wire_next(r, &rec)) == MF_OK) {
        mf_future h = {rec.tag};
        mf_fut *f = mf__fut_lookup(h);
        mf_rbuf *own = NULL;
        int r2 = MF_OK;
        if (rec.ool) {
            /* Received whatever happens: the stream stays in step. */
            r2 = ex->link->ops->recv_ool(ex->link, src, rec.len, &own);
            rec.data = own ? own->data : NULL;
        }
        if (!f || f->state != MF_FS_RUNNING || f->worker != src ||
            f->fn != rec.fn || f->arg_len != rec.len) {
            mf__rbuf_unref(own);
            if (ex->abandoned)
                continue;
            rc = mf__fail(MF_EPROTO,
                          "rank %d returned a task it was not given "
                          "(tag %llx)",
                          src, (unsigned long long)rec.tag);
            continue;
        }
        mf__inflight_done(ex, src, f);
        void *arg = NULL;
        if (r2 == MF_OK)
            arg = rec.len <= sizeof f->inline_buf ? (void *)f->inline_buf
                                                  : mf__malloc(rec.len);
        if (!arg) {
            static const char m[] = "out of memory taking back the task";
            mf__rbuf_unref(own);
            mf__ex_fail(ex, f, ex->rank, MF_FAIL_TASK, m, sizeof m - 1);
            continue;
        }
        if (rec.len)
            memcpy(arg, rec.data, rec.len);
        mf__rbuf_unref(own);
        f->arg = arg;
        f->arg_free = NULL; /* the caller's buffer went with the send */
        f->state = MF_FS_PENDING;
        f->worker = -1;
        if (MF_PINNED(f) >= 0 && !ex->interrupted) {
            /* Pinned: back to the front of its own worker's queue. */
            mf__pin_requeue_front(ex, f);
            continue;
        }
        f->queued = 1;
        f->next = NULL;
        if (last)
            last->next = f;
        else
            first = f;
        last = f;
    }
    if (first) {
        if (ex->interrupted) {
            /* Queued work was cancelled at the signal: so are these. */
            for (mf_fut *f = first, *n; f; f = n) {
                n = f->next;
                f->next = NULL;
                f->queued = 0;
                mf__ex_finish(f, MF_FS_CANCELLED);
            }
        } else {
            last->next = ex->qhead;
            ex->qhead = first;
            if (!ex->qtail)
                ex->qtail = last;
        }
    }
    return rc == MF_EDONE ? MF_OK : rc;
}

/* How many items of a result failed: all of a failed task or chunk; of
 * a chunk that ran, those whose own status says so (so the progress line
 * and the statistics count items, as map's caller sees them). */
static uint32_t mf_failed_items(const mf_fut *f, const mf_wire_rec *rec)
{
    if (rec->status != MF_RS_OK)
        return f->nitems ? f->nitems : 1;
    if (!f->nitems || !rec->data)
        return 0;
    mf_chunk_view v;
    uint32_t n = 0;
    if (mf__chunk_parse(rec->data, rec->len, 1, &v) != MF_OK)
        return 0;
    for (size_t i = 0; i < v.n; i++)
        n += v.status[i] != MF_RS_OK;
    mf__chunk_view_free(&v);
    return n;
}

/* One result for `f` (running on src): its bytes stay in the message
 * buffer rb (referenced), come out of line, or, when small, are copied
 * into the future; it is journaled, observed, and the future finished. */
static int mf_take_one(mf_executor *ex, int src, mf_fut *f, mf_wire_rec *rec,
                       mf_rbuf *rb)
{
    mf_rbuf *own = rb;
    /* A small result is copied into the future (its argument is gone by
     * now), and the message buffer is freed once read. */
    bool small = !rec->ool && rec->status == MF_RS_OK &&
                 rec->len <= sizeof f->inline_buf;
    if (small) {
        own = NULL;
    } else if (rec->ool) {
        /* The payload is the next data message from src. */
        int r2 = ex->link->ops->recv_ool(ex->link, src, rec->len, &own);
        if (r2 != MF_OK) {
            static const char m[] = "the root could not receive the result";
            mf__ex_fail(ex, f, src, MF_FAIL_TASK, m, sizeof m - 1);
            return r2;
        }
        rec->data = own->data;
    } else {
        rb->refs++;
    }
    mf__obs_result(&ex->obs, src, f->fn, mf__fut_handle(f).h, f->nitems,
                   rec->start, rec->ns, rec->len, mf_failed_items(f, rec));
    if (ex->journal &&
        mf__journal_append(ex->journal, f->fn, f->digest, rec->status, 0,
                           rec->data, rec->len) != MF_OK &&
        !ex->journal_warned) {
        ex->journal_warned = true;
        fprintf(stderr, "mpifutures: cannot append to the journal; results "
                        "from now on are not saved\n");
    }
    if (small) {
        if (rec->len)
            memcpy(f->inline_buf, rec->data, rec->len);
        f->res = f->inline_buf;
        f->res_len = rec->len;
        mf__ex_finish(f, MF_FS_OK);
    } else if (rec->status == MF_RS_OK) {
        f->rbuf = own;
        f->res = rec->data;
        f->res_len = rec->len;
        mf__ex_finish(f, MF_FS_OK);
    } else {
        int reason = rec->status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                     : rec->status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                                    : MF_FAIL_TASK;
        mf__ex_fail(ex, f, src, reason, rec->data, rec->len);
        mf__rbuf_unref(own);
    }
    return MF_OK;
}

/* Handle one RESULTS (or RETURNED) message from `src`. */
static int mf_take_results(mf_executor *ex, int src, mf_rbuf *rb)
{
    mf_wire_reader r;
    mf_wire_rec rec;
    int rc = mf__wire_open(&r, rb->data, rb->len);
    if (rc != MF_OK)
        return rc;
    if (r.kind == MF_MSG_RETURNED)
        return mf_take_returned(ex, src, &r);
    if (r.kind != MF_MSG_RESULTS)
        return mf__fail(MF_EPROTO,
                        "root received a message of kind %d from rank %d",
                        r.kind, src);
    if (ex->heard_at)
        ex->heard_at[src] = mf__now();
    int err = MF_OK; /* the first error; the other records still count */
    while ((rc = mf__wire_next(&r, &rec)) == MF_OK) {
        mf_future h = {rec.tag};
        mf_fut *f = mf__fut_lookup(h);
        if (!f || f->state != MF_FS_RUNNING || f->worker != src) {
            if (ex->abandoned)
                continue; /* a late answer to a task we gave up on */
            if (err == MF_OK)
                err =
                    mf__fail(MF_EPROTO,
                             "rank %d answered a task it was not given (tag "
                             "%llx)",
                             src, (unsigned long long)rec.tag);
            continue;
        }
        mf__inflight_done(ex, src, f);
        ex->last_src = src;
        /* The mean time of one unit: a chunk's time over its items. */
        mf__fncost_note(ex, f->fn,
                        (double)rec.ns / (double)(f->nitems ? f->nitems : 1));
        int r2 = mf_take_one(ex, src, f, &rec, rb);
        if (r2 != MF_OK && err == MF_OK)
            err = r2;
    }
    return err != MF_OK ? err : rc == MF_EDONE ? MF_OK : rc;
}

/* A worker of a local pool died: fail what it held (its running and
 * queued tasks), and put a new worker in its place. */
typedef struct mf_loss {
    mf_executor *ex;
    int rank;
    const char *why;
} mf_loss;

static void mf_fail_held(mf_fut *f, void *ctx)
{
    mf_loss *l = ctx;
    if (f->ex != l->ex || f->state != MF_FS_RUNNING || f->worker != l->rank)
        return;
    mf__ex_fail(l->ex, f, l->rank, MF_FAIL_CRASH, l->why, strlen(l->why));
}

static int mf_worker_lost(mf_executor *ex, int rank)
{
    char why[300];
    int rc = ex->revive ? ex->revive(ex, rank, why, sizeof why) : MF_EBROKEN;
    if (!ex->revive)
        snprintf(why, sizeof why, "worker rank %d was lost", rank);
    mf_loss l = {ex, rank, why};
    mf__fut_foreach(mf_fail_held, &l);
    ex->inflight[rank] = 0;
    ex->inflight_units[rank] = 0;
    if (ex->recalling)
        ex->recalling[rank] = 0;
    if (ex->heard_at)
        ex->heard_at[rank] = mf__now();
    if (rc != MF_OK)
        return mf__fail(rc, "%s; no new worker could be started: %s", why,
                        mf_last_error());
    return MF_OK;
}

static int mf_recv_results(mf_executor *ex, bool *act)
{
    for (int i = 0; i < 256; i++) {
        int src = -1;
        mf_rbuf *rb = NULL;
        int rc = ex->link->ops->poll(ex->link, MF_ANY_PEER, &src, &rb);
        if (rc != MF_OK)
            return rc;
        if (!rb) {
            int w;
            while ((w = ex->link->ops->lost(ex->link)) >= 0) {
                *act = true;
                if ((rc = mf_worker_lost(ex, w)) != MF_OK)
                    return rc;
            }
            return MF_OK;
        }
        *act = true;
        rc = mf_take_results(ex, src, rb);
        mf__rbuf_unref(rb);
        if (rc != MF_OK)
            return rc;
    }
    return MF_OK;
}

static void mf_reap_sends(mf_executor *ex)
{
    size_t w = 0;
    for (size_t i = 0; i < ex->nsends; i++) {
        if (ex->link->ops->test(ex->link, ex->sends[i])) {
            mf__wire_free(ex->sends[i]);
            mf__free(ex->sends[i]);
        } else {
            ex->sends[w++] = ex->sends[i];
        }
    }
    ex->nsends = w;
}

/* Fail a running future of `ex` given up after the grace period. */
static void mf_abandon_one(mf_fut *f, void *ctx)
{
    mf_executor *ex = ctx;
    char m[200];
    if (f->ex != ex || f->state != MF_FS_RUNNING)
        return;
    int n =
        snprintf(m, sizeof m,
                 "abandoned: the job was interrupted by %s and the task "
                 "did not finish within the %u s grace period",
                 mf__signal_name(ex->interrupted), ex->opts.grace_seconds);
    mf__ex_fail(ex, f, f->worker, MF_FAIL_ABANDONED, m, (size_t)n);
}

/* Notice a caught signal, and the end of the grace period after it. */
static void mf_check_signal(mf_executor *ex)
{
    int sig = mf__signal_caught();
    if (!sig)
        return;
    if (!ex->interrupted) {
        ex->interrupted = sig;
        ex->interrupt_at = mf__now();
        ex->shutdown = true;
        mf__queue_cancel_all(ex);
    } else if (!ex->abandoned && ex->outstanding > 0 &&
               mf__now() - ex->interrupt_at >= ex->opts.grace_seconds) {
        ex->abandoned = true;
        mf__fut_foreach(mf_abandon_one, ex);
    }
}

int mf__progress(mf_executor *ex, bool *activity)
{
    bool act = false;
    int rc = MF_OK;
    if (ex->in_progress || ex->released)
        return MF_OK;
    ex->in_progress = true;
    bool on_mpi = ex->comm != MPI_COMM_NULL; /* (a pool has no MPI) */
    if (on_mpi)
        mf__mpi_quiet_enter();
    if (ex->signals)
        mf_check_signal(ex);
    rc = mf_recv_results(ex, &act);
    mf_reap_sends(ex);
    /* Completions first: their callbacks may cancel queued work or submit
     * more before the freed slots are refilled, as Python's executors run
     * a future's callbacks before feeding its worker again. (in_progress
     * keeps other threads' passes out meanwhile; the callbacks, user
     * code, see the program's own MPI yield setting.) */
    if (mf__deferred_ready()) {
        unsigned quiet = on_mpi ? mf__mpi_quiet_suspend() : 0;
        mf__run_deferred();
        if (on_mpi)
            mf__mpi_quiet_resume(quiet);
    }
    if (rc == MF_OK && (ex->qhead || ex->npinned) && !ex->released) {
        uint64_t t0 = ex->obs.trace_path ? mf__mono_ns() : 0;
        bool sent = false;
        rc = mf__dispatch(ex, &sent);
        if (sent && t0)
            mf__obs_phase(&ex->obs, MF_EV_DISPATCH, t0, mf__mono_ns());
        act |= sent;
    }
    /* Nothing queued here: a worker may hold tasks another could run. */
    if (rc == MF_OK && !ex->qhead && !ex->released)
        rc = mf__recall_check(ex, &act);
    if (ex->opts.progress)
        mf__obs_tick(&ex->obs);
    if (ex->shutdown && ex->outstanding == 0 && !ex->released) {
        mf__skip_cancelled(ex);
        int r2 = mf__release_workers(ex);
        if (rc == MF_OK)
            rc = r2;
    }
    if (on_mpi)
        mf__mpi_quiet_leave();
    ex->in_progress = false;
    if (activity && act)
        *activity = true;
    return rc;
}

int mf__progress_all(bool *activity)
{
    int rc = MF_OK;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open) {
        int r = mf__progress(ex, activity);
        if (rc == MF_OK)
            rc = r;
    }
    return rc;
}

/* The root's progress thread: makes progress while no caller does, with
 * the same idle backoff as a waiting caller. */
/* The longest sleep of a root waiting on `ex` (lock held). The backoff
 * already keeps short waits hot (spin, then yield, then sleeps of at most
 * 10% of the wait); while a large send needs polling to move, sleeps stay
 * short. */
static unsigned mf_ceiling(const mf_executor *ex, unsigned max)
{
    for (size_t i = 0; i < ex->nsends; i++)
        if (ex->sends[i]->nool)
            return max < 50 ? max : 50;
    return max;
}

static void *mf_progress_thread(void *arg)
{
    mf_executor *ex = arg;
    mf_backoff b;
    mf__backoff_init(&b, ex->oversub);
    mf__lock();
    while (!ex->stop_thread) {
        bool act = false;
        unsigned ceiling;
        if (mf__waiters == 0)
            (void)mf__progress(ex, &act);
        if (act)
            mf__backoff_reset(&b);
        if (mf__waiters > 0)
            ceiling = 200; /* a caller drives progress: stand back */
        else
            ceiling = mf_ceiling(ex, ex->opts.idle_sleep_max_us);
        mf__unlock();
        mf__backoff_idle(&b, INFINITY, ceiling);
        mf__lock();
    }
    mf__unlock();
    return NULL;
}

void mf__stop_thread(mf_executor *ex)
{
    if (!ex->has_thread)
        return;
    ex->stop_thread = true;
    mf__unlock();
    pthread_join(ex->thread, NULL);
    mf__lock();
    ex->has_thread = false;
}

int mf__wait_until(bool (*pred)(void *), void *ctx, double deadline)
{
    int rc;
    bool traced = false;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open)
        traced |= ex->obs.trace_path != NULL;
    uint64_t t0 = traced ? mf__mono_ns() : 0; /* (a clock read a wait) */
    mf__waiters++;
    rc = mf_wait_loop(pred, ctx, deadline);
    mf__waiters--;
    for (mf_executor *ex = mf_open_list; traced && ex; ex = ex->next_open)
        if (ex->obs.trace_path)
            mf__obs_phase(&ex->obs, MF_EV_WAIT, t0, mf__mono_ns());
    return rc;
}

static int mf_wait_loop(bool (*pred)(void *), void *ctx, double deadline)
{
    mf_backoff b;
    int oversub = 0;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open)
        oversub |= ex->oversub;
    mf__backoff_init(&b, oversub);
    for (;;) {
        bool act = false;
        unsigned ceiling = 1000000;
        int rc = mf__progress_all(&act);
        if (pred(ctx))
            return MF_OK;
        if (rc != MF_OK)
            return rc;
        if (deadline < INFINITY && mf__now() >= deadline)
            return mf__fail(MF_ETIMEDOUT, "timed out");
        if (!mf_open_list)
            return mf__fail(MF_ESTATE, "waiting with no open executor");
        if (act)
            mf__backoff_reset(&b);
        for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open) {
            unsigned c = mf_ceiling(ex, ex->opts.idle_sleep_max_us);
            if (c < ceiling)
                ceiling = c;
        }
        mf__unlock();
        mf__backoff_idle(&b, deadline, ceiling);
        mf__lock();
    }
}

mf_executor *mf__ex_any_open(void)
{
    mf__lock();
    mf_executor *ex = mf_open_list;
    mf__unlock();
    return ex;
}

void mf__ex_unlink(mf_executor *ex)
{
    for (mf_executor **p = &mf_open_list; *p; p = &(*p)->next_open) {
        if (*p == ex) {
            *p = ex->next_open;
            return;
        }
    }
}
