/* executor.c — the root's progress engine, dispatch, submit, shutdown
 * and close (the collective open is open.c, options opts.c).
 *
 * Progress is caller-driven: every library call on the root makes a
 * non-blocking pass (receive results, reap finished sends, run the
 * deferred callbacks of what completed, dispatch queued tasks), and
 * blocking calls repeat passes with an idle backoff. Dispatch keeps a
 * window of tasks in flight per worker so a worker never waits for a round
 * trip; the window adapts to measured task times (short tasks: up to
 * opts.window; long ones: 1, so nothing waits behind a long task).
 * Everything queued for one worker at a time goes out as one message.
 */

#include "executor.h"

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "future.h"
#include "journal.h"
#include "lock.h"
#include "observe.h"
#include "opts.h"
#include "rbuf.h"
#include "registry.h"
#include "signals.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static mf_executor *mf_open_list;

/* Is `ex` an open executor? (Lock not needed: the magic of a closed one
 * never changes again.) */
int mf__ex_check(const mf_executor *ex, const char *fn)
{
    if (!ex)
        return mf__fail(MF_EINVAL, "%s: NULL executor", fn);
    if (ex->magic == MF_EX_CLOSED)
        return mf__fail(MF_EBADHANDLE, "%s: the executor was closed", fn);
    if (ex->magic != MF_EX_MAGIC)
        return mf__fail(MF_EINVAL, "%s: not an executor", fn);
    return MF_OK;
}

/* Free what `ex` holds. With `keep`, the struct itself stays, marked
 * closed, so later calls with the stale pointer get MF_EBADHANDLE instead
 * of touching freed memory (a few hundred bytes per executor a program
 * closes). */
void mf__ex_free(mf_executor *ex, int keep)
{
    if (!ex)
        return;
    if (ex->hosts) {
        for (int i = 0; i < ex->size; i++)
            mf__free(ex->hosts[i]);
        mf__free(ex->hosts);
    }
    mf__free(ex->workers);
    mf__free(ex->packed);
    mf__free(ex->inflight);
    mf__free(ex->heard_at);
    mf__free(ex->recalling);
    mf__free(ex->sends);
    mf__obs_free(&ex->obs);
    mf__journal_close(ex->journal);
    mf__registry_snap_free(&ex->reg);
    if (keep) {
        memset(ex, 0, sizeof *ex);
        ex->magic = MF_EX_CLOSED;
        ex->comm = MPI_COMM_NULL;
        return;
    }
    free(ex);
}

int mf__waiters;
static void *mf_progress_thread(void *arg);

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
            mf__unlock();
            mf_executor_close(ex);
            return mf__fail(MF_ENOMEM, "cannot start the progress thread");
        }
    }
    mf__unlock();
    return MF_OK;
}

MF_API int mf_executor_workers(const mf_executor *ex)
{
    return ex && ex->magic == MF_EX_MAGIC ? ex->nworkers : 0;
}

MF_API int mf_executor_interrupted(const mf_executor *ex)
{
    int sig;
    if (!ex || ex->magic != MF_EX_MAGIC)
        return 0;
    mf__lock();
    sig = ex->interrupted;
    mf__unlock();
    return sig;
}

/* ---- progress -------------------------------------------------------- */

void mf__ex_finish(mf_fut *f, int state)
{
    if (f->held) {
        f->held = 0;
        if (f->ex && f->ex->outstanding)
            f->ex->outstanding--;
    }
    f->ex = NULL;
    mf__fut_finish(f, state);
}

/* Fail `f` with a complete error (message, function, host, rank and
 * reason all recorded first): finishing may free the future, and its
 * callbacks may read the error. */
static void mf_fail_future(mf_executor *ex, mf_fut *f, int rank, int reason,
                           const char *msg, size_t msglen)
{
    mf_ferr *e = mf__calloc(1, sizeof *e);
    const mf_reg_entry *re = mf__snap_find(&ex->reg, f->fn);
    if (e) {
        e->message = mf__malloc(msglen + 1);
        e->function = mf__strdup(re ? re->name : "?");
        e->host = mf__strdup(rank >= 0 && rank < ex->size && ex->hosts[rank]
                                 ? ex->hosts[rank]
                                 : "?");
        if (!e->message || !e->function || !e->host) {
            mf__free(e->message);
            mf__free(e->function);
            mf__free(e->host);
            mf__free(e);
            e = NULL;
        } else {
            memcpy(e->message, msg, msglen);
            e->message[msglen] = '\0';
            e->pub.message = e->message;
            e->pub.function = e->function;
            e->pub.host = e->host;
            e->pub.rank = rank;
            e->pub.reason = reason;
        }
    }
    f->err = e ? e : &mf__oom_err;
    mf__ex_finish(f, MF_FS_FAILED);
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
            r2 = mf__wire_recv_ool(ex->comm, src, rec.len, &own);
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
        if (ex->inflight[src])
            ex->inflight[src]--;
        void *arg = NULL;
        if (r2 == MF_OK)
            arg = rec.len <= sizeof f->inline_buf ? (void *)f->inline_buf
                                                  : mf__malloc(rec.len);
        if (!arg) {
            static const char m[] = "out of memory taking back the task";
            mf__rbuf_unref(own);
            mf_fail_future(ex, f, ex->rank, MF_FAIL_TASK, m, sizeof m - 1);
            continue;
        }
        if (rec.len)
            memcpy(arg, rec.data, rec.len);
        mf__rbuf_unref(own);
        f->arg = arg;
        f->arg_free = NULL; /* the caller's buffer went with the send */
        f->state = MF_FS_PENDING;
        f->worker = -1;
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

/* Handle one RESULTS message from `src`. */
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
                        "root received a message of kind %d from "
                        "rank %d",
                        r.kind, src);
    if (ex->heard_at)
        ex->heard_at[src] = mf__now();
    while ((rc = mf__wire_next(&r, &rec)) == MF_OK) {
        mf_future h = {rec.tag};
        mf_fut *f = mf__fut_lookup(h);
        if (!f || f->state != MF_FS_RUNNING || f->worker != src) {
            if (ex->abandoned)
                continue; /* a late answer to a task we gave up on */
            rc = mf__fail(MF_EPROTO,
                          "rank %d answered a task it was not "
                          "given (tag %llx)",
                          src, (unsigned long long)rec.tag);
            continue;
        }
        if (ex->inflight[src])
            ex->inflight[src]--;
        ex->last_src = src;
        if (ex->task_ns_avg < 0)
            ex->task_ns_avg = (double)rec.ns;
        else
            ex->task_ns_avg = 0.9 * ex->task_ns_avg + 0.1 * (double)rec.ns;
        mf_rbuf *own = rb;
        /* A small result is copied into the future (its argument is gone
         * by now), and the message buffer is freed once read. */
        bool small = !rec.ool && rec.status == MF_RS_OK &&
                     rec.len <= sizeof f->inline_buf;
        if (small) {
            own = NULL;
        } else if (rec.ool) {
            /* The payload is the next data message from src. */
            int r2 = mf__wire_recv_ool(ex->comm, src, rec.len, &own);
            if (r2 != MF_OK) {
                static const char m[] = "the root could not receive the "
                                        "result";
                mf_fail_future(ex, f, src, MF_FAIL_TASK, m, sizeof m - 1);
                rc = r2;
                continue;
            }
            rec.data = own->data;
        } else {
            rb->refs++;
        }
        mf__obs_result(&ex->obs, src, f->fn, mf__fut_handle(f).h, f->nitems,
                       rec.start, rec.ns, rec.len, rec.status != MF_RS_OK);
        if (ex->journal &&
            mf__journal_append(ex->journal, f->fn, f->digest, rec.status, 0,
                               rec.data, rec.len) != MF_OK &&
            !ex->journal_warned) {
            ex->journal_warned = true;
            fprintf(stderr, "mpifutures: cannot append to the journal; "
                            "results from now on are not saved\n");
        }
        if (small) {
            if (rec.len)
                memcpy(f->inline_buf, rec.data, rec.len);
            f->res = f->inline_buf;
            f->res_len = rec.len;
            mf__ex_finish(f, MF_FS_OK);
        } else if (rec.status == MF_RS_OK) {
            f->rbuf = own;
            f->res = rec.data;
            f->res_len = rec.len;
            mf__ex_finish(f, MF_FS_OK);
        } else {
            int reason = rec.status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                         : rec.status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                                       : MF_FAIL_TASK;
            mf_fail_future(ex, f, src, reason, rec.data, rec.len);
            mf__rbuf_unref(own);
        }
    }
    return rc == MF_EDONE ? MF_OK : rc;
}

static int mf_recv_results(mf_executor *ex, bool *act)
{
    /* Probe, then allocate, then receive: if the allocation fails, the
     * message stays queued in MPI and nothing is lost (a matched probe
     * would have to be received at once). Only this library receives on
     * its private communicator, under the library lock, so the message
     * probed is the one received. */
    for (int i = 0; i < 256; i++) {
        int flag = 0, count = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MF_WIRE_TAG, ex->comm, &flag, &st) !=
            MPI_SUCCESS)
            return mf__fail(MF_EMPI, "MPI_Iprobe failed on the root");
        if (!flag)
            return MF_OK;
        *act = true;
        MPI_Get_count(&st, MPI_BYTE, &count);
        mf_rbuf *rb = mf__rbuf_new(count > 0 ? (size_t)count : 0);
        if (!rb)
            return mf__fail(MF_ENOMEM, "out of memory receiving results "
                                       "(they stay queued)");
        int src = st.MPI_SOURCE;
        if (MPI_Recv(rb->data, count, MPI_BYTE, src, MF_WIRE_TAG, ex->comm,
                     &st) != MPI_SUCCESS) {
            mf__rbuf_unref(rb);
            return mf__fail(MF_EMPI, "MPI_Recv failed on the root");
        }
        int rc = mf_take_results(ex, src, rb);
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
        if (mf__wire_test(ex->sends[i])) {
            mf__wire_free(ex->sends[i]);
            mf__free(ex->sends[i]);
        } else {
            ex->sends[w++] = ex->sends[i];
        }
    }
    ex->nsends = w;
}

static int mf_wait_loop(bool (*pred)(void *), void *ctx, double deadline);

static int mf_push_send(mf_executor *ex, mf_send *s, int dest)
{
    if (ex->nsends == ex->capsends) {
        size_t cap = ex->capsends ? 2 * ex->capsends : 16;
        mf_send **ns = mf__realloc(ex->sends, cap * sizeof *ns);
        if (!ns)
            return MF_ENOMEM;
        ex->sends = ns;
        ex->capsends = cap;
    }
    int rc = mf__wire_isend(s, dest, ex->comm);
    if (rc != MF_OK) {
        /* Parts already posted must finish before s can be freed. */
        mf__wire_wait(s);
        return rc;
    }
    ex->sends[ex->nsends++] = s;
    return MF_OK;
}

static mf_fut *mf_pop(mf_executor *ex)
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
    if (ex->qtail)
        ex->qtail->next = f;
    else
        ex->qhead = f;
    ex->qtail = f;
}

/* Drop cancelled entries at the head of the queue. */
static void mf_skip_cancelled(mf_executor *ex)
{
    while (ex->qhead && ex->qhead->state != MF_FS_PENDING) {
        mf_fut *f = mf_pop(ex);
        mf__fut_maybe_free(f);
    }
}

static unsigned mf_window(mf_executor *ex)
{
    unsigned max = ex->opts.window;
    /* Long tasks: one at a time per worker (a round trip is nothing next
     * to them), so no task waits on a worker behind a long one. */
    if (ex->task_ns_avg >= MF_LONG_TASK_NS)
        return 1;
    if (max <= 2 || ex->task_ns_avg < 0)
        return max < 2 ? max : 2;
    double w = 2.0 + MF_WINDOW_TARGET_NS / (ex->task_ns_avg + 1.0);
    return w >= (double)max ? max : (unsigned)w;
}

static void mf_release_arg(void *p)
{
    mf__free(p);
}

/* Move one queued future into message `s` for worker `w`. */
static int mf_pack(mf_executor *ex, mf_send *s, mf_fut *f, int w)
{
    mf_free_fn release = f->arg_free                       ? f->arg_free
                         : f->arg != (void *)f->inline_buf ? mf_release_arg
                                                           : NULL;
    mf_future h = mf__fut_handle(f);
    uint32_t flags = (f->nitems ? MF_REC_CHUNK : 0) |
                     (f->isolate || f->timeout_ms ? MF_REC_ISOLATE : 0);
    int rc = mf__wire_add_task_t(s, h.h, f->fn, f->arg, f->arg_len, release,
                                 flags, f->timeout_ms);
    f->arg = NULL; /* now owned by the message (or freed) */
    if (rc != MF_OK) {
        static const char m[] = "out of memory sending the task";
        mf_fail_future(ex, f, ex->rank, MF_FAIL_TASK, m, sizeof m - 1);
        return rc;
    }
    f->state = MF_FS_RUNNING;
    f->worker = w;
    ex->inflight[w]++;
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
static void mf_recall_init(mf_executor *ex)
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

static int mf_recall_check(mf_executor *ex, bool *act)
{
    int idle = 0;
    if (!ex->heard_at || ex->qhead || ex->released || ex->interrupted)
        return MF_OK;
    double now = mf__now();
    if (now < ex->recall_check_at)
        return MF_OK;
    ex->recall_check_at = now + MF_RECALL_CHECK_SECONDS;
    for (int k = 0; k < ex->nworkers; k++)
        if (ex->inflight[ex->workers[k]] == 0)
            idle++;
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
            rc = mf_push_send(ex, s, w);
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

static int mf_dispatch(mf_executor *ex, bool *act)
{
    unsigned window = mf_window(ex);
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
    mf_recall_init(ex);
    for (int k = 0; k < 2 * nw; k++) {
        int pass1 = k < nw;
        mf_skip_cancelled(ex);
        if (!ex->qhead)
            break;
        int w = ex->workers[(start + k) % nw];
        if (ex->inflight[w] >= window || (pass1 && ex->inflight[w] > 0))
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
            mf_skip_cancelled(ex);
            mf_fut *f = mf_pop(ex);
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
        if (ex->qhead)
            mf__wire_set_flags(s, MF_HDR_MORE);
        rc = mf__wire_finish(s);
        if (rc == MF_OK)
            rc = mf_push_send(ex, s, w);
        if (rc != MF_OK) {
            /* Out of memory or an MPI failure: the tasks of `s` were not
             * sent. Fail their futures (nothing waits forever) and go on. */
            char m[160];
            int n = snprintf(m, sizeof m,
                             "could not send the task to rank "
                             "%d: %s",
                             w, mf_strerror(rc));
            mf__wire_free(s);
            mf__free(s);
            for (size_t i = 0; i < npacked; i++) {
                mf_fut *f = ex->packed[i];
                if (ex->inflight[w])
                    ex->inflight[w]--;
                mf_fail_future(ex, f, w, MF_FAIL_TASK, m, (size_t)n);
            }
            return mf__fail(rc, "failed to send tasks to rank %d", w);
        }
        *act = true;
    }
    if (nw)
        ex->rr = (ex->rr + 1) % nw;
    if (rc == MF_OK)
        rc = mf_recall_check(ex, act);
    return rc;
}

/* Tell the worker `dest` to stop serving (a SHUTDOWN header). */
int mf__send_shutdown(MPI_Comm comm, int dest)
{
    unsigned char hdr[MF_WIRE_HDR] = {0};
    uint32_t magic = MF_WIRE_MAGIC;
    memcpy(hdr, &magic, 4);
    hdr[4] = MF_WIRE_VERSION;
    hdr[5] = MF_MSG_SHUTDOWN;
    return MPI_Send(hdr, MF_WIRE_HDR, MPI_BYTE, dest, MF_WIRE_TAG, comm) ==
                   MPI_SUCCESS
               ? MF_OK
               : MF_EMPI;
}

static int mf_release_workers(mf_executor *ex)
{
    int rc = MF_OK;
    for (int k = 0; k < ex->nworkers; k++) {
        if (mf__send_shutdown(ex->comm, ex->workers[k]) != MF_OK)
            rc = mf__fail(MF_EMPI, "failed to release rank %d",
                          ex->workers[k]);
    }
    ex->released = true;
    return rc;
}

/* Dispatch without polling for results (submit's fast path). */
static int mf_dispatch_only(mf_executor *ex)
{
    bool act = false;
    int rc = MF_OK;
    if (ex->in_progress || ex->released)
        return MF_OK;
    ex->in_progress = true;
    if (ex->qhead) {
        mf__mpi_quiet_enter();
        rc = mf_dispatch(ex, &act);
        mf__mpi_quiet_leave();
    }
    ex->in_progress = false;
    return rc;
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
    mf_fail_future(ex, f, f->worker, MF_FAIL_ABANDONED, m, (size_t)n);
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
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__ex_finish(f, MF_FS_CANCELLED);
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
        unsigned quiet = mf__mpi_quiet_suspend();
        mf__run_deferred();
        mf__mpi_quiet_resume(quiet);
    }
    if (rc == MF_OK && ex->qhead && !ex->released) {
        uint64_t t0 = ex->obs.trace_path ? mf__mono_ns() : 0;
        bool sent = false;
        rc = mf_dispatch(ex, &sent);
        if (sent && t0)
            mf__obs_phase(&ex->obs, MF_EV_DISPATCH, t0, mf__mono_ns());
        act |= sent;
    }
    /* Nothing queued here: a worker may hold tasks another could run. */
    if (rc == MF_OK && !ex->qhead && !ex->released)
        rc = mf_recall_check(ex, &act);
    if (ex->opts.progress)
        mf__obs_tick(&ex->obs);
    if (ex->shutdown && ex->outstanding == 0 && !ex->released) {
        mf_skip_cancelled(ex);
        int r2 = mf_release_workers(ex);
        if (rc == MF_OK)
            rc = r2;
    }
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

static void mf_stop_thread(mf_executor *ex)
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
    uint64_t t0 = mf__mono_ns();
    mf__waiters++;
    rc = mf_wait_loop(pred, ctx, deadline);
    mf__waiters--;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open)
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
        if (mf__now() >= deadline)
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

/* ---- submit ---------------------------------------------------------- */

int mf__check_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len)
{
    if (!arg && len)
        return mf__fail(MF_EINVAL, "NULL argument with length %zu", len);
    if (ex->interrupted)
        return mf__fail(MF_EINTR, "the executor was interrupted by %s",
                        mf__signal_name(ex->interrupted));
    if (ex->shutdown)
        return mf__fail(MF_ESHUTDOWN, "the executor is shut down");
    if (!mf__snap_find(&ex->reg, fn))
        return mf__fail(MF_ENOENT,
                        "function id %016llx was not registered "
                        "when the executor opened",
                        (unsigned long long)fn);
    if (len > ex->opts.max_arg_bytes)
        return mf__fail(MF_E2BIG,
                        "argument of %zu bytes is above the "
                        "limit of %zu (max_arg_bytes)",
                        len, ex->opts.max_arg_bytes);
    return MF_OK;
}

int mf__new_task(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 mf_fut **out)
{
    mf_fut *f = mf__fut_alloc();
    if (!f)
        return mf__fail(MF_ENOMEM, "out of memory creating a future");
    if (len <= MF_INLINE_ARG) {
        f->arg = f->inline_buf;
    } else if (len >= MF_BIG_MIN) {
        /* Reused large blocks: no fresh pages for every big argument. */
        f->arg = mf__big_get(len);
        f->arg_free = mf__big_put;
        if (!f->arg) {
            mf__fut_slot_free(f);
            return mf__fail(MF_ENOMEM,
                            "out of memory copying a %zu-byte "
                            "argument",
                            len);
        }
    } else {
        f->arg = mf__malloc(len);
        if (!f->arg) {
            mf__fut_slot_free(f);
            return mf__fail(MF_ENOMEM,
                            "out of memory copying a %zu-byte "
                            "argument",
                            len);
        }
    }
    if (len)
        memcpy(f->arg, arg, len);
    f->arg_len = len;
    f->fn = fn;
    f->ex = ex;
    f->refs = 1;
    f->held = 1;
    f->isolate = (uint8_t)ex->opts.isolate;
    f->timeout_ms = ex->timeout_ms;
    ex->outstanding++;
    *out = f;
    return MF_OK;
}

MF_API int mf_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len, mf_future *fut)
{
    return mf_submit_ex(ex, fn, arg, len, NULL, fut);
}

MF_API int mf_submit_ex(mf_executor *ex, mf_fn_id fn, const void *arg,
                        size_t len, const mf_submit_opts *opts,
                        mf_future *fut)
{
    int rc;
    mf_fut *f = NULL;
    uint32_t tms = 0;
    mf__clear_error();
    if (!fut)
        rc = mf__fail(MF_EINVAL, "mf_submit: NULL future pointer");
    else if (opts && opts->timeout != 0 &&
             mf__timeout_ms(opts->timeout, &tms) != MF_OK)
        rc = mf__fail(MF_EINVAL, "mf_submit_ex: timeout %g s is too long",
                      opts->timeout);
    else
        rc = MF_OK;
    mf__lock();
    /* Checked under the lock: a close on another thread cannot slip in
     * between the check and the use. */
    if (rc == MF_OK)
        rc = mf__ex_check(ex, "mf_submit");
    if (rc == MF_OK)
        rc = mf__check_submit(ex, fn, arg, len);
    if (rc == MF_OK && opts && opts->free_arg && len > MF_INLINE_ARG) {
        /* Take the caller's buffer as it is: no copy. */
        rc = mf__new_task(ex, fn, NULL, 0, &f);
        if (rc == MF_OK) {
            f->arg = (void *)arg;
            f->arg_len = len;
            f->arg_free = opts->free_arg;
        }
    } else if (rc == MF_OK) {
        rc = mf__new_task(ex, fn, arg, len, &f);
        if (rc == MF_OK && opts && opts->free_arg && arg)
            opts->free_arg((void *)arg); /* small: copied inline */
    }
    if (rc != MF_OK && opts && opts->free_arg && arg)
        opts->free_arg((void *)arg); /* ownership passed even on failure */
    if (rc == MF_OK && opts) {
        if (opts->timeout != 0)
            f->timeout_ms = tms; /* negative: none */
        if (opts->isolate)
            f->isolate = 1;
    }
    if (rc == MF_OK) {
        ex->obs.submitted++;
        *fut = mf__fut_handle(f);
        if (ex->journal && mf__journal_try(ex, f)) {
            mf__unlock();
            return MF_OK;
        }
        mf__enqueue(ex, f);
        /* Send it now if a worker has room; a failure here belongs to the
         * executor, not to this submit (the future is queued). Polling
         * for results costs more than the rest of a submit, so a burst of
         * submits polls on every 16th only; a worker that runs dry in
         * between waits at most 15 submits. */
        if ((++ex->nsubmits & 15) == 0 || mf_dispatch_only(ex) != MF_OK)
            (void)mf__progress(ex, NULL);
    }
    mf__unlock();
    return rc;
}

/* ---- shutdown and close ---------------------------------------------- */

static bool mf_pred_released(void *ctx)
{
    mf_executor *ex = ctx;
    /* Closed by another thread while we waited: nothing left to wait for. */
    return ex->magic != MF_EX_MAGIC || ex->released;
}

MF_API int mf_executor_shutdown(mf_executor *ex, int wait, int cancel_futures)
{
    int rc = MF_OK;
    mf__clear_error();
    mf__lock();
    if ((rc = mf__ex_check(ex, "mf_executor_shutdown")) != MF_OK) {
        mf__unlock();
        return rc;
    }
    if (wait && mf__cb_depth > 0) {
        mf__unlock();
        return mf__fail(MF_EINCALLBACK, "mf_executor_shutdown(wait) from a "
                                        "done callback");
    }
    ex->shutdown = true;
    if (cancel_futures) {
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__ex_finish(f, MF_FS_CANCELLED);
    }
    rc = mf__progress(ex, NULL);
    if (wait && rc == MF_OK && !ex->released)
        rc = mf__wait_until(mf_pred_released, ex, INFINITY);
    mf__unlock();
    return rc;
}

MF_API int mf_executor_close(mf_executor *ex)
{
    int rc;
    if (!ex)
        return MF_OK;
    mf__clear_error();
    mf__lock();
    if ((rc = mf__ex_check(ex, "mf_executor_close")) != MF_OK) {
        mf__unlock();
        return rc;
    }
    if (ex->closing) {
        mf__unlock();
        return mf__fail(MF_EBADHANDLE, "mf_executor_close: the executor is "
                                       "being closed by another thread");
    }
    if (mf__cb_depth > 0) {
        mf__unlock();
        return mf__fail(MF_EINCALLBACK, "mf_executor_close from a done "
                                        "callback");
    }
    ex->closing = true; /* one close; the others get MF_EBADHANDLE */
    /* Shut down holding the lock once, so the wait drops it and runs the
     * callbacks of what completes meanwhile; nobody else frees `ex`. */
    mf__unlock();
    rc = mf_executor_shutdown(ex, 1, 0);
    mf__lock();
    if (ex->abandoned) {
        /* Workers are still inside tasks we gave up on: they cannot be
         * released in order, and MPI_Finalize would wait for them. */
        fprintf(stderr,
                "mpifutures: interrupted by %s; tasks still running after "
                "the %u s grace period; ending the job\n",
                mf__signal_name(ex->interrupted), ex->opts.grace_seconds);
        fflush(stderr);
        MPI_Abort(ex->comm, 128 + ex->interrupted);
    }
    if (rc != MF_OK && !ex->released) {
        /* Broken beyond repair: cancel what is left so nobody waits
         * forever, then still release the workers. */
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__ex_finish(f, MF_FS_CANCELLED);
        mf_release_workers(ex);
    }
    for (size_t i = 0; i < ex->nsends; i++) {
        mf__wire_wait(ex->sends[i]);
        mf__wire_free(ex->sends[i]);
        mf__free(ex->sends[i]);
    }
    ex->nsends = 0;
    while (ex->qhead) {
        mf_fut *f = mf_pop(ex);
        mf__fut_maybe_free(f);
    }
    mf_stop_thread(ex);
    mf__obs_close(&ex->obs);
    mf__big_trim();
    if (ex->signals)
        mf__signals_restore();
    for (mf_executor **p = &mf_open_list; *p; p = &(*p)->next_open) {
        if (*p == ex) {
            *p = ex->next_open;
            break;
        }
    }
    MPI_Comm_free(&ex->comm);
    mf__ex_free(ex, 1);
    mf__unlock();
    return rc;
}

bool mf__journal_try(mf_executor *ex, mf_fut *f)
{
    uint32_t status, reason;
    const void *bytes;
    size_t len;
    mf__journal_digest(f->arg, f->arg_len, f->digest);
    if (!mf__journal_find(ex->journal, f->fn, f->digest, &status, &reason,
                          &bytes, &len))
        return false;
    if (status == MF_RS_OK) {
        mf_rbuf *rb = mf__rbuf_new(len);
        if (!rb)
            return false; /* run it instead */
        memcpy(rb->data, bytes, len);
        f->rbuf = rb;
        f->res = rb->data;
        f->res_len = len;
        mf__ex_finish(f, MF_FS_OK);
    } else {
        mf_fail_future(ex, f, -1,
                       status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                       : status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                                 : MF_FAIL_TASK,
                       bytes, len);
    }
    return true;
}

MF_API int mf_executor_journal(mf_executor *ex, size_t *loaded,
                               size_t *reused, size_t *torn_bytes)
{
    size_t l, r, t;
    mf__lock();
    int rc = mf__ex_check(ex, "mf_executor_journal");
    if (rc != MF_OK) {
        mf__unlock();
        return rc;
    }
    mf__journal_counts(ex->journal, &l, &r, &t);
    mf__unlock();
    if (loaded)
        *loaded = l;
    if (reused)
        *reused = r;
    if (torn_bytes)
        *torn_bytes = t;
    return MF_OK;
}

/* ---- observation ------------------------------------------------------ */

MF_API int mf_executor_stats(mf_executor *ex, mf_worker_stats *out, size_t n,
                             size_t *nworkers)
{
    mf__clear_error();
    if (!out && n)
        return mf__fail(MF_EINVAL, "mf_executor_stats: NULL argument");
    mf__lock();
    int rc = mf__ex_check(ex, "mf_executor_stats");
    if (rc != MF_OK) {
        mf__unlock();
        return rc;
    }
    if (nworkers)
        *nworkers = (size_t)ex->nworkers;
    if (n)
        mf__obs_stats(&ex->obs, out, n);
    mf__unlock();
    return MF_OK;
}
