/* map.c — mf_map(): many calls of one function, results in order or as
 * they complete, with a chunksize and an overall timeout.
 *
 * Items become ordinary futures; a chunk's items share a chunk id, which
 * makes dispatch send them to one worker in one message. Unordered maps
 * reuse the as_completed machinery. A consumer that stops early frees the
 * iterator, which cancels what has not started; what runs completes and
 * is discarded.
 */
#include "internal.h"

#include <string.h>

struct mf_map_iter {
    mf_fut **f; /* retained until consumed (ordered) or freed */
    size_t n, next;
    int unordered;
    double deadline;
    mf_as_completed_iter *ac;
    bool finished;
};

MF_API void mf_map_opts_init(mf_map_opts *opts)
{
    if (opts) {
        memset(opts, 0, sizeof *opts);
        opts->chunksize = 1;
        opts->timeout = MF_FOREVER;
    }
}

static void mf_map_cancel_rest(mf_map_iter *it)
{
    for (size_t i = 0; i < it->n; i++)
        if (it->f[i] && it->f[i]->state == MF_FS_PENDING)
            mf__fut_finish(it->f[i], MF_FS_CANCELLED);
}

MF_API int mf_map(mf_executor *ex, mf_fn_id fn, const void *const *args,
                  const size_t *lens, size_t n, const mf_map_opts *opts,
                  mf_map_iter **out)
{
    mf_map_opts o;
    mf_map_iter *it;
    int rc = MF_OK;
    mf__clear_error();
    if (!ex || !out || (n && (!args || !lens)))
        return mf__fail(MF_EINVAL, "mf_map: NULL argument");
    *out = NULL;
    if (opts)
        o = *opts;
    else
        mf_map_opts_init(&o);
    if (o.chunksize == 0)
        o.chunksize = 1;
    it = mf__calloc(1, sizeof *it);
    if (!it || !(it->f = mf__calloc(n ? n : 1, sizeof *it->f))) {
        mf__free(it);
        return mf__fail(MF_ENOMEM, "mf_map: out of memory");
    }
    it->unordered = o.unordered;
    it->deadline = mf__deadline(o.timeout < 0 ? MF_FOREVER : o.timeout);
    mf__lock();
    for (size_t i = 0; i < n && rc == MF_OK; i++)
        rc = mf__check_submit(ex, fn, args[i], lens[i]);
    if (rc != MF_OK) {
        mf__unlock();
        mf__free(it->f);
        mf__free(it);
        return rc;
    }
    uint64_t chunk = 0;
    for (size_t i = 0; i < n; i++) {
        if (o.chunksize > 1 && i % o.chunksize == 0)
            chunk = ++ex->next_chunk;
        rc = mf__new_task(ex, fn, args[i], lens[i], &it->f[i]);
        if (rc != MF_OK)
            break;
        it->f[i]->chunk = chunk;
    }
    if (rc != MF_OK) {
        /* Nothing was queued yet: undo cleanly. */
        for (size_t i = 0; i < n && it->f[i]; i++) {
            it->f[i]->refs = 0;
            it->f[i]->held = 0;
            ex->outstanding--;
            mf__fut_maybe_free(it->f[i]);
        }
        mf__unlock();
        mf__free(it->f);
        mf__free(it);
        return rc;
    }
    it->n = n;
    for (size_t i = 0; i < n; i++)
        mf__enqueue(ex, it->f[i]);
    (void)mf__progress(ex, NULL);
    mf__unlock();
    if (it->unordered) {
        mf_future *h = mf__malloc((n ? n : 1) * sizeof *h);
        mf__lock();
        for (size_t i = 0; h && i < n; i++)
            h[i] = mf__fut_handle(it->f[i]);
        mf__unlock();
        rc = h ? mf_as_completed(h, n, o.timeout < 0 ? MF_FOREVER : o.timeout,
                                 &it->ac)
               : mf__fail(MF_ENOMEM, "mf_map: out of memory");
        mf__free(h);
        if (rc != MF_OK) {
            mf_map_free(it);
            return rc;
        }
    }
    *out = it;
    return MF_OK;
}

static bool mf_pred_done(void *p)
{
    return mf__fut_is_done((mf_fut *)p);
}

MF_API int mf_map_next(mf_map_iter *it, const void **data, size_t *len,
                       size_t *index)
{
    size_t i;
    int rc = MF_OK;
    mf__clear_error();
    if (!it)
        return mf__fail(MF_EINVAL, "mf_map_next: NULL iterator");
    mf__lock();
    if (it->finished || it->next == it->n) {
        mf__unlock();
        return MF_EDONE;
    }
    if (!it->unordered && it->next > 0) {
        /* The previous item has been consumed: let its memory go. */
        mf_fut *prev = it->f[it->next - 1];
        if (prev) {
            prev->refs--;
            mf__fut_maybe_free(prev);
            it->f[it->next - 1] = NULL;
        }
    }
    if (it->unordered) {
        rc = mf__ac_next(it->ac, &i);
    } else {
        i = it->next;
        if (!mf__fut_is_done(it->f[i])) {
            double now = mf__now();
            if (mf__cb_depth > 0 && it->deadline > now)
                rc = mf__fail(MF_EINCALLBACK, "mf_map_next from a done "
                                              "callback");
            else
                rc = mf__wait_until(mf_pred_done, it->f[i],
                                    it->deadline > now ? it->deadline : now);
        }
    }
    if (rc == MF_ETIMEDOUT) {
        mf_map_cancel_rest(it);
        it->finished = true;
        mf__fail(MF_ETIMEDOUT, "map timed out after %zu of %zu items",
                 it->next, it->n);
    }
    if (rc != MF_OK) {
        mf__unlock();
        return rc;
    }
    it->next++;
    mf_fut *f = it->f[i];
    if (index)
        *index = i;
    if (f->state == MF_FS_OK) {
        if (data)
            *data = f->res;
        if (len)
            *len = f->res_len;
    } else if (f->state == MF_FS_FAILED) {
        rc = mf__fail(MF_ETASK, "item %zu: task '%s' failed on rank %d: %s",
                      i, f->err->pub.function, f->err->pub.rank,
                      f->err->pub.message);
    } else {
        rc = mf__fail(MF_ECANCELLED, "item %zu was cancelled", i);
    }
    mf__unlock();
    return rc;
}

MF_API void mf_map_free(mf_map_iter *it)
{
    if (!it)
        return;
    mf_as_completed_free(it->ac);
    mf__lock();
    mf_map_cancel_rest(it);
    for (size_t i = 0; i < it->n; i++) {
        if (it->f[i]) {
            it->f[i]->refs--;
            mf__fut_maybe_free(it->f[i]);
        }
    }
    mf__unlock();
    mf__free(it->f);
    mf__free(it);
}
