/* submit.c — mf_submit(), mf_submit_ex(), mf_executor_shutdown() and
 * mf_executor_close(): the calls that put work on an executor and end it.
 *
 * A submit checks everything before anything is queued (an unknown
 * function, a size above the limit: an error, nothing lost), copies small
 * arguments into the future's slot, then sends at once if a worker has
 * room. Shutdown is idempotent; close is shutdown with wait, then the
 * executor is freed (its struct kept, marked closed, so a stale pointer
 * gets MF_EBADHANDLE). Every check of the executor is made under the lock.
 */
#include "dispatch.h"
#include "link.h"
#include "progress.h"

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
#include "shm.h"
#include "signals.h"
#include "wire.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    } else if (len >= MF_WIRE_OOL_MIN && ex->shm &&
               (f->arg = mf__shm_alloc(ex->shm, len)) != NULL) {
        /* A process pool: copied once, into the region its worker reads
         * it from in place. */
        f->arg_free = mf__shm_release;
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
    ex->held_items++;
    *out = f;
    return MF_OK;
}

/* Rank r is one of ex's workers. */
static bool mf_is_worker(const mf_executor *ex, int r)
{
    for (int k = 0; k < ex->nworkers; k++)
        if (ex->workers[k] == r)
            return true;
    return false;
}

/* mf_submit_opts.pin: a worker's rank, not with avoid; the per-worker
 * queues made. */
static int mf_check_pin(mf_executor *ex, const mf_submit_opts *o)
{
    if (!mf_is_worker(ex, o->pin_rank))
        return mf__fail(MF_EINVAL,
                        "mf_submit_ex: pin_rank %d is not a worker's rank",
                        o->pin_rank);
    if (o->avoid)
        return mf__fail(MF_EINVAL, "mf_submit_ex: pin and avoid together");
    if (mf__pin_init(ex) != MF_OK)
        return mf__fail(MF_ENOMEM, "mf_submit_ex: out of memory");
    return MF_OK;
}

MF_API int mf_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len, mf_future *fut)
{
    return mf_submit_ex(ex, fn, arg, len, NULL, fut);
}

MF_API int mf_submit_str(mf_executor *ex, mf_fn_id fn, const char *s,
                         mf_future *fut)
{
    if (!s) {
        mf__clear_error();
        return mf__fail(MF_EINVAL, "mf_submit_str: NULL string");
    }
    return mf_submit_ex(ex, fn, s, strlen(s) + 1, NULL, fut);
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
    if (rc == MF_OK && ex->threads && opts && (opts->isolate || tms > 0))
        rc = mf__fail(MF_EINVAL, "mf_submit_ex: a thread pool cannot isolate "
                                 "a task or time it out (a thread cannot be "
                                 "killed)");
    if (rc == MF_OK)
        rc = mf__check_submit(ex, fn, arg, len);
    if (rc == MF_OK && opts && opts->avoid &&
        !mf_is_worker(ex, opts->avoid_rank))
        rc = mf__fail(MF_EINVAL,
                      "mf_submit_ex: avoid_rank %d is not a worker's rank",
                      opts->avoid_rank);
    if (rc == MF_OK && opts && opts->pin)
        rc = mf_check_pin(ex, opts);
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
        if (opts->avoid)
            f->place = opts->avoid_rank + 1;
        if (opts->pin)
            f->place = -(opts->pin_rank + 1);
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
        if ((++ex->nsubmits & 15) == 0 || mf__dispatch_only(ex) != MF_OK)
            (void)mf__progress(ex, NULL);
    }
    mf__unlock();
    return rc;
}

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
    if (cancel_futures)
        mf__queue_cancel_all(ex);
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
        if (ex->comm != MPI_COMM_NULL)
            MPI_Abort(ex->comm, 128 + ex->interrupted);
        _exit(128 + ex->interrupted); /* a local pool's workers die with us */
    }
    if (rc != MF_OK && !ex->released) {
        /* Broken beyond repair: cancel what is left so nobody waits
         * forever, then still release the workers. */
        mf__queue_cancel_all(ex);
        mf__release_workers(ex);
    }
    for (size_t i = 0; i < ex->nsends; i++) {
        ex->link->ops->wait(ex->link, ex->sends[i]);
        mf__wire_free(ex->sends[i]);
        mf__free(ex->sends[i]);
    }
    ex->nsends = 0;
    mf__queue_drain(ex);
    mf__stop_thread(ex);
    mf__obs_close(&ex->obs);
    mf__big_trim();
    if (ex->signals)
        mf__signals_restore();
    mf__ex_unlink(ex);
    /* A local pool's workers were released: reap or join them while
     * their link still stands (a thread pool's inboxes go with it). */
    if (ex->backend_close)
        ex->backend_close(ex);
    ex->link->ops->free(ex->link);
    ex->link = NULL;
    if (ex->comm != MPI_COMM_NULL)
        MPI_Comm_free(&ex->comm);
    mf__ex_free(ex, 1);
    mf__unlock();
    return rc;
}
