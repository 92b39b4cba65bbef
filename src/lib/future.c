/* future.c — the future state machine, callbacks, references.
 *
 *   PENDING --dispatch--> RUNNING --result--> OK | FAILED
 *      \--cancel/shutdown(cancel_futures)--> CANCELLED
 *
 * A slot is freed when nobody needs it any more: no user reference, not
 * counted by the executor, not linked in the pending queue, and not in the
 * middle of running its callbacks.
 */
#include "future.h"

#include "alloc.h"
#include "errors.h"
#include "lock.h"
#include "rbuf.h"

#include "future.h"

#include "alloc.h"
#include "errors.h"
#include "lock.h"

#include <string.h>

uint64_t mf__completions;
uint64_t mf__failures;
static uint32_t mf_mark;

uint32_t mf__next_mark(void)
{
    if (++mf_mark == 0)
        mf_mark = 1;
    return mf_mark;
}

/* The error of a future whose own error could not be allocated. */
mf_ferr mf__oom_err = {
    {"out of memory while recording the error", "?", -1, "?", MF_FAIL_TASK},
    NULL,
    NULL,
    NULL};

static void mf_ferr_free(mf_ferr *e)
{
    if (!e || e == &mf__oom_err)
        return;
    mf__free(e->message);
    mf__free(e->function);
    mf__free(e->host);
    mf__free(e);
}

void mf__fut_maybe_free(mf_fut *f)
{
    if (f->refs || f->held || f->queued || f->in_cb)
        return;
    if (f->arg && f->arg_free)
        f->arg_free(f->arg);
    else if (f->arg && f->arg != (void *)f->inline_buf)
        mf__free(f->arg);
    mf__rbuf_unref(f->rbuf);
    mf_ferr_free(f->err);
    mf__free(f->cbs);
    mf__fut_slot_free(f);
}

int mf__fut_add_cb(mf_fut *f, mf_done_fn fn, void *ud)
{
    if (f->ncb == 0) {
        f->cb0 = (mf_cb){fn, ud};
    } else {
        uint32_t k = f->ncb - 1; /* index in cbs */
        if (k == f->capcb) {
            uint32_t cap = f->capcb ? 2 * f->capcb : 2;
            mf_cb *n = mf__realloc(f->cbs, cap * sizeof *n);
            if (!n)
                return MF_ENOMEM;
            f->cbs = n;
            f->capcb = cap;
        }
        f->cbs[k] = (mf_cb){fn, ud};
    }
    f->ncb++;
    return MF_OK;
}

static mf_cb *mf_cb_at(mf_fut *f, uint32_t i)
{
    return i == 0 ? &f->cb0 : &f->cbs[i - 1];
}

int mf__fut_add_watch(mf_fut *f, mf_done_fn fn, void *ud)
{
    if (f->nwatch == UINT16_MAX)
        return MF_ENOMEM; /* 65535 iterators watching one future */
    int rc = mf__fut_add_cb(f, fn, ud);
    if (rc != MF_OK)
        return rc;
    /* Watchers stay in front of the user callbacks. */
    for (uint32_t j = f->ncb - 1; j > f->nwatch; j--) {
        mf_cb t = *mf_cb_at(f, j);
        *mf_cb_at(f, j) = *mf_cb_at(f, j - 1);
        *mf_cb_at(f, j - 1) = t;
    }
    f->nwatch++;
    return MF_OK;
}

void mf__fut_remove_cb(mf_fut *f, mf_done_fn fn, void *ud)
{
    for (uint32_t i = 0; i < f->ncb; i++) {
        mf_cb *c = mf_cb_at(f, i);
        if (c->fn == fn && c->ud == ud) {
            if (f->in_cb) { /* being walked: leave a hole */
                c->fn = NULL;
                return;
            }
            for (uint32_t j = i + 1; j < f->ncb; j++)
                *mf_cb_at(f, j - 1) = *mf_cb_at(f, j);
            f->ncb--;
            if (i < f->nwatch)
                f->nwatch--;
            return;
        }
    }
}

static void mf_cbs_clear(mf_fut *f)
{
    mf__free(f->cbs);
    f->cbs = NULL;
    f->ncb = f->capcb = 0;
    f->nwatch = 0;
}

/* The future whose callbacks this thread is running (lock dropped). */
static _Thread_local mf_fut *mf_running_cbs;

/* Call one user callback without the lock (lock held at depth 1 on entry
 * and on return; `f` kept alive by in_cb). */
static void mf_call_unlocked(mf_fut *f, mf_cb c)
{
    mf_future h = mf__fut_handle(f);
    mf_fut *outer = mf_running_cbs;
    mf_running_cbs = f;
    mf__cb_depth++;
    mf__unlock_raw();
    c.fn(h, c.ud);
    mf__lock_raw();
    mf__cb_depth--;
    mf_running_cbs = outer;
}

/* Deferred (lock.c): run the user callbacks of a finished future in the
 * order added, each exactly once. The list may grow meanwhile (on_done
 * from another thread appends); removed entries are holes. */
static void mf_run_cbs(void *arg)
{
    mf_fut *f = arg;
    f->in_cb = 2;
    for (uint32_t i = 0; i < f->ncb; i++) {
        mf_cb c = *mf_cb_at(f, i);
        if (c.fn)
            mf_call_unlocked(f, c);
    }
    f->in_cb = 0;
    mf_cbs_clear(f);
    mf__fut_maybe_free(f);
}

void mf__fut_finish(mf_fut *f, int state)
{
    mf_future h = mf__fut_handle(f);
    f->state = (uint8_t)state;
    mf__completions++;
    if (state == MF_FS_FAILED)
        mf__failures++;
    /* The library's watchers first, now, under the lock. */
    uint32_t nw = f->nwatch;
    for (uint32_t i = 0; i < nw; i++) {
        mf_cb c = *mf_cb_at(f, i);
        c.fn(h, c.ud);
    }
    if (nw) {
        for (uint32_t j = nw; j < f->ncb; j++)
            *mf_cb_at(f, j - nw) = *mf_cb_at(f, j);
        f->ncb -= nw;
        f->nwatch = 0;
    }
    /* Then the user's, once the lock is dropped; in_cb keeps the slot
     * (and its handle) alive until they ran, even if released. */
    if (f->ncb) {
        f->in_cb = 1;
        if (mf__defer(mf_run_cbs, f) != MF_OK)
            mf_run_cbs(f); /* no memory to defer: run them here */
        return;
    }
    mf_cbs_clear(f);
    mf__fut_maybe_free(f);
}

/* ---- public API ------------------------------------------------------ */

/* A future a caller may use: live, and either referenced by the caller
 * or in the middle of its own callbacks (the header promises it stays
 * valid there even after the last user reference went). */
mf_fut *mf__fut_usable(mf_future h)
{
    mf_fut *f = mf__fut_lookup(h);
    return f && (f->refs || f->in_cb) ? f : NULL;
}

static int mf_query(mf_future fut, int what)
{
    int r = 0;
    mf__lock();
    mf_fut *f = mf__fut_usable(fut);
    if (f) {
        if (what == 0)
            r = mf__fut_is_done(f);
        else if (what == 1)
            r = f->state == MF_FS_RUNNING;
        else
            r = f->state == MF_FS_CANCELLED;
    }
    mf__unlock();
    return r;
}

MF_API int mf_future_done(mf_future fut)
{
    return mf_query(fut, 0);
}

MF_API int mf_future_running(mf_future fut)
{
    return mf_query(fut, 1);
}

MF_API int mf_future_cancelled(mf_future fut)
{
    return mf_query(fut, 2);
}

MF_API int mf_future_on_done(mf_future fut, mf_done_fn cb, void *userdata)
{
    int rc = MF_OK;
    mf__clear_error();
    if (!cb)
        return mf__fail(MF_EINVAL, "mf_future_on_done: NULL callback");
    mf__lock();
    mf_fut *f = mf__fut_usable(fut);
    if (!f) {
        rc = mf__fail(MF_EBADHANDLE, "mf_future_on_done: stale or null "
                                     "future handle");
    } else if (mf__fut_is_done(f) && (!f->in_cb || mf_running_cbs == f)) {
        /* Done, and no callback of it waits: run it now, in this thread,
         * without the lock, as Python's add_done_callback does (also when
         * called from one of this future's own callbacks). */
        uint8_t was = f->in_cb;
        f->in_cb = 2; /* keep it alive if the callback releases it */
        mf_call_unlocked(f, (mf_cb){cb, userdata});
        f->in_cb = was;
        mf__fut_maybe_free(f);
    } else if ((rc = mf__fut_add_cb(f, cb, userdata)) != MF_OK) {
        rc = mf__fail(rc, "mf_future_on_done: out of memory");
    }
    mf__unlock();
    return rc;
}

MF_API int mf_future_retain(mf_future fut)
{
    int rc = MF_OK;
    mf__lock();
    mf_fut *f = mf__fut_usable(fut);
    if (!f)
        rc = mf__fail(MF_EBADHANDLE, "mf_future_retain: stale or null "
                                     "future handle");
    else
        f->refs++;
    mf__unlock();
    return rc;
}

MF_API int mf_future_release(mf_future fut)
{
    int rc = MF_OK;
    mf__lock();
    mf_fut *f = mf__fut_lookup(fut);
    if (!f || f->refs == 0) {
        rc = mf__fail(MF_EBADHANDLE, "mf_future_release: stale or null "
                                     "future handle (double release?)");
    } else {
        f->refs--;
        mf__fut_maybe_free(f);
    }
    mf__unlock();
    return rc;
}
