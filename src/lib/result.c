/* result.c — the calls that wait for a future or end it through its
 * executor: mf_future_result(), mf_future_result_into(), mf_future_error(),
 * mf_future_cancel().
 *
 * They sit above the executor (they drive its progress while they wait,
 * and a cancel drops the executor's hold), so future.c, below, never
 * needs the executor.
 */
#include "clock.h"
#include "errors.h"
#include "executor.h"
#include "future.h"
#include "lock.h"

#include <string.h>

static bool mf_pred_done(void *ctx)
{
    return mf__fut_is_done((mf_fut *)ctx);
}

/* Wait for `f` (lock held; f retained by the caller). */
static int mf_wait_one(mf_fut *f, double timeout)
{
    if (mf__fut_is_done(f))
        return MF_OK;
    if (timeout != 0 && mf__cb_depth > 0)
        return mf__fail(MF_EINCALLBACK,
                        "blocking wait on a future from a done callback");
    return mf__wait_until(mf_pred_done, f, mf__deadline(timeout));
}

static int mf_state_rc(const mf_fut *f)
{
    switch (f->state) {
    case MF_FS_OK:
        return MF_OK;
    case MF_FS_FAILED:
        return mf__fail(MF_ETASK, "task '%s' failed on rank %d: %s",
                        f->err ? f->err->pub.function : "?",
                        f->err ? f->err->pub.rank : -1,
                        f->err ? f->err->pub.message : "?");
    case MF_FS_CANCELLED:
        return mf__fail(MF_ECANCELLED, "future was cancelled");
    default:
        return mf__fail(MF_ETIMEDOUT, "future is not done yet");
    }
}

/* The common part of result() and error(): find the caller's future,
 * hold it (the lock is dropped while waiting), wait, and turn its state
 * into a code. Returns the held future (give it back with mf_unhold) or
 * NULL with *rc set. Lock held. */
static mf_fut *mf_hold_wait(mf_future fut, double timeout, const char *fn,
                            int *rc)
{
    mf_fut *f = mf__fut_usable(fut);
    if (!f) {
        *rc = mf__fail(MF_EBADHANDLE, "%s: stale or null future handle", fn);
        return NULL;
    }
    f->refs++;
    *rc = mf_wait_one(f, timeout);
    if (*rc == MF_OK || *rc == MF_ETIMEDOUT)
        *rc = mf_state_rc(f);
    return f;
}

static void mf_unhold(mf_fut *f)
{
    f->refs--;
    mf__fut_maybe_free(f);
}

MF_API int mf_future_result(mf_future fut, double timeout, const void **data,
                            size_t *len)
{
    int rc;
    mf__clear_error();
    mf__lock();
    mf_fut *f = mf_hold_wait(fut, timeout, "mf_future_result", &rc);
    if (f && rc == MF_OK) {
        if (data)
            *data = f->res;
        if (len)
            *len = f->res_len;
    }
    if (f)
        mf_unhold(f);
    mf__unlock();
    return rc;
}

MF_API int mf_future_error(mf_future fut, double timeout,
                           const mf_task_error **err)
{
    int rc;
    mf__clear_error();
    mf__lock();
    mf_fut *f = mf_hold_wait(fut, timeout, "mf_future_error", &rc);
    if (f && rc == MF_ETASK) {
        rc = MF_OK;
        mf__clear_error();
        if (err)
            *err = &f->err->pub;
    } else if (f && rc == MF_OK && err) {
        *err = NULL;
    }
    if (f)
        mf_unhold(f);
    mf__unlock();
    return rc;
}

MF_API int mf_future_cancel(mf_future fut)
{
    int rc = MF_OK;
    mf__clear_error();
    mf__lock();
    mf_fut *f = mf__fut_usable(fut);
    if (!f)
        rc = mf__fail(MF_EBADHANDLE, "mf_future_cancel: stale or null "
                                     "future handle");
    else if (f->state == MF_FS_PENDING)
        mf__ex_finish(f, MF_FS_CANCELLED); /* stays queued until popped */
    else if (f->state != MF_FS_CANCELLED)
        rc = mf__fail(MF_ESTATE,
                      "future is %s: only a queued future can "
                      "be cancelled",
                      f->state == MF_FS_RUNNING ? "running" : "finished");
    mf__unlock();
    return rc;
}

MF_API int mf_future_result_into(mf_future fut, double timeout, void *buf,
                                 size_t len)
{
    int rc;
    mf__clear_error();
    if (!buf && len)
        return mf__fail(MF_EINVAL, "mf_future_result_into: NULL buffer");
    mf__lock();
    mf_fut *f = mf_hold_wait(fut, timeout, "mf_future_result_into", &rc);
    if (f && rc == MF_OK) {
        if (f->res_len != len)
            rc = mf__fail(MF_ESIZE,
                          "mf_future_result_into: the result has %zu bytes, "
                          "the buffer %zu",
                          f->res_len, len);
        else if (len)
            memcpy(buf, f->res, len);
    }
    if (f)
        mf_unhold(f);
    mf__unlock();
    return rc;
}
