/* wait.c — mf_wait() and mf_as_completed().
 *
 * mf_wait rescans its futures only when some future somewhere has
 * finished since the last scan (a global counter), so a long wait costs
 * O(n) per completion batch, not per poll. as_completed registers an
 * internal callback on each pending future that appends it to a
 * completion list, so each step is O(1); freeing the iterator removes the
 * callbacks that have not fired.
 */

#include "wait.h"

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "executor.h"
#include "future.h"
#include "lock.h"

#include <math.h>
#include <string.h>

typedef struct mf_wait_ctx {
    mf_fut **f;
    size_t n;
    int mode;
    uint64_t seen;      /* mf__completions at the last scan */
    uint64_t seen_fail; /* mf__failures at the last failure scan */
    size_t first_pending;
    bool met;
} mf_wait_ctx;

static bool mf_wait_pred(void *p)
{
    mf_wait_ctx *c = p;
    if (c->met)
        return true;
    if (c->seen == mf__completions)
        return false;
    c->seen = mf__completions;
    if (c->mode == MF_FIRST_COMPLETED) {
        for (size_t i = 0; i < c->n; i++)
            if (mf__fut_is_done(c->f[i]))
                return c->met = true;
        return false;
    }
    /* Look for a failure only when one has happened somewhere since the
     * last look. */
    if (c->mode == MF_FIRST_EXCEPTION && c->seen_fail != mf__failures) {
        c->seen_fail = mf__failures;
        for (size_t i = 0; i < c->n; i++)
            if (c->f[i]->state == MF_FS_FAILED)
                return c->met = true;
    }
    while (c->first_pending < c->n && mf__fut_is_done(c->f[c->first_pending]))
        c->first_pending++;
    return c->met = c->first_pending == c->n;
}

MF_API int mf_wait(const mf_future *futs, size_t n, double timeout, int mode,
                   unsigned char *done, size_t *ndone)
{
    mf_wait_ctx c;
    int rc = MF_OK;
    mf__clear_error();
    if ((!futs && n) || mode < MF_FIRST_COMPLETED || mode > MF_ALL_COMPLETED)
        return mf__fail(MF_EINVAL, "mf_wait: NULL futures or bad mode %d",
                        mode);
    memset(&c, 0, sizeof c);
    c.f = mf__malloc((n ? n : 1) * sizeof *c.f);
    if (!c.f)
        return mf__fail(MF_ENOMEM, "mf_wait: out of memory");
    c.n = n;
    c.mode = mode;
    c.seen = 0;
    mf__lock();
    for (size_t i = 0; i < n; i++) {
        c.f[i] = mf__fut_usable(futs[i]);
        if (!c.f[i]) {
            mf__unlock();
            mf__free(c.f);
            return mf__fail(MF_EBADHANDLE,
                            "mf_wait: future %zu is stale or "
                            "null",
                            i);
        }
    }
    for (size_t i = 0; i < n; i++)
        c.f[i]->refs++;           /* keep them while we drop the lock */
    c.seen = mf__completions - 1; /* force the first scans */
    c.seen_fail = mf__failures - 1;
    if (n == 0) {
        c.met = true;
    } else if (!mf_wait_pred(&c)) {
        if (timeout != 0 && mf__cb_depth > 0)
            rc = mf__fail(MF_EINCALLBACK, "mf_wait from a done callback");
        else
            rc = mf__wait_until(mf_wait_pred, &c, mf__deadline(timeout));
    }
    size_t count = 0;
    uint32_t mark = mf__next_mark();
    for (size_t i = 0; i < n; i++) {
        int d = mf__fut_is_done(c.f[i]);
        if (done)
            done[i] = (unsigned char)d;
        if (d && c.f[i]->mark != mark) { /* count distinct futures */
            c.f[i]->mark = mark;
            count++;
        }
    }
    if (ndone)
        *ndone = count;
    for (size_t i = 0; i < n; i++) {
        c.f[i]->refs--;
        mf__fut_maybe_free(c.f[i]);
    }
    mf__unlock();
    mf__free(c.f);
    return rc;
}

/* ---- as_completed ----------------------------------------------------- */

typedef struct mf_ac_entry {
    struct mf_as_completed_iter *it;
    size_t i;
} mf_ac_entry;

struct mf_as_completed_iter {
    mf_fut **f;         /* distinct futures, each retained (NULL once
                           given by mf_as_completed_next_index) */
    size_t *pos;        /* f[i]'s first position in the caller's array */
    mf_ac_entry *ent;   /* callback contexts */
    unsigned char *cbs; /* 1 while f[i] has our callback */
    size_t n;
    size_t *order; /* completion order */
    size_t nready, next;
    double deadline;
};

static void mf_ac_on_done(mf_future h, void *ud)
{
    mf_ac_entry *e = ud;
    (void)h;
    e->it->cbs[e->i] = 0;
    e->it->order[e->it->nready++] = e->i;
}

MF_API int mf_as_completed(const mf_future *futs, size_t n, double timeout,
                           mf_as_completed_iter **out)
{
    mf_as_completed_iter *it;
    mf__clear_error();
    if (!out || (!futs && n))
        return mf__fail(MF_EINVAL, "mf_as_completed: NULL argument");
    *out = NULL;
    it = mf__calloc(1, sizeof *it);
    if (!it)
        return mf__fail(MF_ENOMEM, "mf_as_completed: out of memory");
    size_t cap = n ? n : 1;
    it->f = mf__malloc(cap * sizeof *it->f);
    it->ent = mf__malloc(cap * sizeof *it->ent);
    it->pos = mf__malloc(cap * sizeof *it->pos);
    it->cbs = mf__calloc(cap, 1);
    it->order = mf__malloc(cap * sizeof *it->order);
    if (!it->f || !it->ent || !it->cbs || !it->order || !it->pos) {
        mf_as_completed_free(it);
        return mf__fail(MF_ENOMEM, "mf_as_completed: out of memory");
    }
    it->deadline = mf__deadline(timeout);
    mf__lock();
    uint32_t mark = mf__next_mark();
    for (size_t i = 0; i < n; i++) {
        mf_fut *f = mf__fut_usable(futs[i]);
        if (!f) {
            mf__unlock();
            mf_as_completed_free(it);
            return mf__fail(MF_EBADHANDLE,
                            "mf_as_completed: future %zu is "
                            "stale or null",
                            i);
        }
        if (f->mark == mark)
            continue; /* a duplicate: given once */
        f->mark = mark;
        it->pos[it->n] = i;
        it->f[it->n++] = f;
        f->refs++;
    }
    /* Done ones first, in input order; then callbacks on the rest. */
    for (size_t i = 0; i < it->n; i++)
        if (mf__fut_is_done(it->f[i]))
            it->order[it->nready++] = i;
    for (size_t i = 0; i < it->n; i++) {
        if (mf__fut_is_done(it->f[i]))
            continue;
        it->ent[i] = (mf_ac_entry){it, i};
        if (mf__fut_add_watch(it->f[i], mf_ac_on_done, &it->ent[i]) !=
            MF_OK) {
            mf__unlock();
            mf_as_completed_free(it);
            return mf__fail(MF_ENOMEM, "mf_as_completed: out of memory");
        }
        it->cbs[i] = 1;
    }
    mf__unlock();
    *out = it;
    return MF_OK;
}

static bool mf_ac_pred(void *p)
{
    mf_as_completed_iter *it = p;
    return it->next < it->nready;
}

MF_API int mf_as_completed_next(mf_as_completed_iter *it, mf_future *fut)
{
    size_t index;
    int rc;
    mf__clear_error();
    if (!it || !fut)
        return mf__fail(MF_EINVAL, "mf_as_completed_next: NULL argument");
    mf__lock();
    rc = mf__ac_next(it, &index);
    if (rc == MF_OK)
        *fut = mf__fut_handle(it->f[index]);
    mf__unlock();
    return rc;
}

MF_API int mf_as_completed_next_index(mf_as_completed_iter *it, size_t *index)
{
    size_t k;
    int rc;
    mf__clear_error();
    if (!it || !index)
        return mf__fail(MF_EINVAL,
                        "mf_as_completed_next_index: NULL argument");
    mf__lock();
    rc = mf__ac_next(it, &k);
    if (rc == MF_OK) {
        *index = it->pos[k];
        /* Given: the iterator lets go of it now. */
        mf_fut *f = it->f[k];
        it->f[k] = NULL;
        f->refs--;
        mf__fut_maybe_free(f);
    }
    mf__unlock();
    return rc;
}

MF_API int mf_first_failed(const mf_future *futs, size_t n, size_t *index)
{
    int rc = MF_EDONE;
    mf__clear_error();
    if ((!futs && n) || !index)
        return mf__fail(MF_EINVAL, "mf_first_failed: NULL argument");
    mf__lock();
    for (size_t i = 0; i < n; i++) {
        mf_fut *f = mf__fut_usable(futs[i]);
        if (!f) {
            rc = mf__fail(MF_EBADHANDLE,
                          "mf_first_failed: future %zu is stale or null", i);
            break;
        }
        if (rc == MF_EDONE && f->state == MF_FS_FAILED) {
            *index = i;
            rc = MF_OK; /* (the rest still checked for stale handles) */
        }
    }
    mf__unlock();
    return rc;
}

int mf__ac_next(mf_as_completed_iter *it, size_t *index)
{
    int rc = MF_OK;
    if (it->next == it->n) {
        rc = MF_EDONE;
    } else if (it->next == it->nready) {
        double now = mf__now();
        if (mf__cb_depth > 0 && it->deadline > now)
            rc = mf__fail(MF_EINCALLBACK, "mf_as_completed_next from a done "
                                          "callback");
        else
            rc = mf__wait_until(mf_ac_pred, it,
                                it->deadline > now ? it->deadline : now);
    }
    if (rc == MF_OK)
        *index = it->order[it->next++];
    return rc;
}

MF_API void mf_as_completed_free(mf_as_completed_iter *it)
{
    if (!it)
        return;
    mf__lock();
    for (size_t i = 0; i < it->n; i++) {
        if (!it->f[i])
            continue; /* given and let go by mf_as_completed_next_index */
        if (it->cbs[i])
            mf__fut_remove_cb(it->f[i], mf_ac_on_done, &it->ent[i]);
        it->f[i]->refs--;
        mf__fut_maybe_free(it->f[i]);
    }
    mf__unlock();
    mf__free(it->f);
    mf__free(it->ent);
    mf__free(it->pos);
    mf__free(it->cbs);
    mf__free(it->order);
    mf__free(it);
}
