/* map.c — mf_map(): many calls of one function, results in order or as
 * they complete, with a chunksize and an overall timeout.
 *
 * With chunksize 1 every item is a task of its own. With a larger
 * chunksize, each chunk is ONE task on the wire (its arguments packed
 * together; the worker runs every item and answers with one packed
 * result), so per-item cost on the root is a few slices of a buffer, not
 * a future. Unordered maps reuse the as_completed machinery over the
 * tasks. A consumer that stops early frees the iterator, which cancels
 * what has not started; what runs completes and is discarded.
 */

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "executor.h"
#include "future.h"
#include "journal.h"
#include "lock.h"
#include "registry.h"
#include "wait.h"
#include "wire.h"

#include <stdint.h>
#include <string.h>

struct mf_map_iter {
    mf_executor *ex;
    mf_fut **f;   /* one per task, retained until consumed or freed */
    size_t ntask; /* tasks */
    size_t n;     /* items */
    size_t cs;    /* items per task */
    int unordered;
    double deadline;
    mf_as_completed_iter *ac;
    size_t given;   /* items handed out */
    size_t cur;     /* task being read */
    size_t pos;     /* next item within it */
    bool have_cur;  /* cur/pos valid */
    size_t view_of; /* task whose chunk is parsed in `view` (+1; 0 none) */
    mf_chunk_view view;
    int view_rc; /* MF_OK or the parse error */
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
    for (size_t i = 0; i < it->ntask; i++)
        if (it->f[i] && it->f[i]->state == MF_FS_PENDING)
            mf__ex_finish(it->f[i], MF_FS_CANCELLED);
}

static size_t mf_items_in(const mf_map_iter *it, size_t t)
{
    size_t first = t * it->cs;
    return it->n - first < it->cs ? it->n - first : it->cs;
}

/* Pack the arguments of items [first, first+k) into one chunk payload. */
static int mf_pack_chunk(const void *const *args, const size_t *lens,
                         size_t first, size_t k, void **out, size_t *outlen)
{
    size_t len = 8 + 8 * k;
    for (size_t i = 0; i < k; i++) {
        if (lens[first + i] > MF_WIRE_MAX - len)
            return mf__fail(MF_E2BIG, "chunk arguments exceed 2 GiB");
        len += MF_PAD8(lens[first + i]);
    }
    unsigned char *b = mf__malloc(len);
    if (!b)
        return mf__fail(MF_ENOMEM, "out of memory packing a chunk");
    uint64_t n = k;
    memcpy(b, &n, 8);
    size_t off = 8 + 8 * k;
    for (size_t i = 0; i < k; i++) {
        uint64_t l = lens[first + i];
        memcpy(b + 8 + 8 * i, &l, 8);
        if (l)
            memcpy(b + off, args[first + i], l);
        memset(b + off + l, 0, MF_PAD8(l) - l);
        off += MF_PAD8(l);
    }
    *out = b;
    *outlen = len;
    return MF_OK;
}

/* Check every item, then make one future per task (a chunk packed into
 * one argument); nothing is queued. On failure every future made is
 * undone and the error returned. Lock held. */
static int mf_map_make(mf_executor *ex, mf_fn_id fn, const void *const *args,
                       const size_t *lens, mf_map_iter *it)
{
    int rc = mf__ex_check(ex, "mf_map"); /* another thread may close it */
    /* The whole check once (function, state), then per item only what
     * differs between items. */
    if (rc == MF_OK && it->n)
        rc = mf__check_submit(ex, fn, args[0], lens[0]);
    for (size_t i = 1; i < it->n && rc == MF_OK; i++) {
        if (!args[i] && lens[i])
            rc =
                mf__fail(MF_EINVAL, "NULL argument with length %zu", lens[i]);
        else if (lens[i] > ex->opts.max_arg_bytes)
            rc = mf__fail(MF_E2BIG,
                          "argument of %zu bytes is above the limit of %zu "
                          "(max_arg_bytes)",
                          lens[i], ex->opts.max_arg_bytes);
    }
    for (size_t t = 0; t < it->ntask && rc == MF_OK; t++) {
        size_t first = t * it->cs, k = mf_items_in(it, t);
        if (it->cs == 1) {
            rc = mf__new_task(ex, fn, args[first], lens[first], &it->f[t]);
            continue;
        }
        void *packed = NULL;
        size_t plen = 0;
        rc = mf_pack_chunk(args, lens, first, k, &packed, &plen);
        if (rc != MF_OK)
            break;
        /* The packed buffer becomes the future's argument as it is. */
        rc = mf__new_task(ex, fn, NULL, 0, &it->f[t]);
        if (rc != MF_OK) {
            mf__free(packed);
            break;
        }
        it->f[t]->arg = packed;
        it->f[t]->arg_len = plen;
        it->f[t]->nitems = (uint32_t)k;
        ex->held_items += k - 1; /* (mf__new_task counted one) */
    }
    if (rc != MF_OK) {
        /* Nothing was queued yet: undo cleanly. */
        for (size_t t = 0; t < it->ntask && it->f[t]; t++) {
            it->f[t]->refs = 0;
            it->f[t]->held = 0;
            ex->outstanding--;
            ex->held_items -= it->f[t]->nitems ? it->f[t]->nitems : 1;
            mf__fut_maybe_free(it->f[t]);
        }
    }
    return rc;
}

/* An unordered map yields its tasks as they complete: an as_completed
 * iterator over them. */
static int mf_map_unordered(mf_map_iter *it, double timeout)
{
    mf_future *h = mf__malloc((it->ntask ? it->ntask : 1) * sizeof *h);
    int rc;
    mf__lock();
    for (size_t t = 0; h && t < it->ntask; t++)
        h[t] = mf__fut_handle(it->f[t]);
    mf__unlock();
    rc = h ? mf_as_completed(h, it->ntask,
                             timeout <= 0 ? MF_FOREVER : timeout, &it->ac)
           : mf__fail(MF_ENOMEM, "mf_map: out of memory");
    mf__free(h);
    return rc;
}

MF_API int mf_map(mf_executor *ex, mf_fn_id fn, const void *const *args,
                  const size_t *lens, size_t n, const mf_map_opts *opts,
                  mf_map_iter **out)
{
    mf_map_opts o;
    mf_map_iter *it;
    int rc = MF_OK;
    mf__clear_error();
    if ((rc = mf__ex_check(ex, "mf_map")) != MF_OK)
        return rc;
    if (!out || (n && (!args || !lens)))
        return mf__fail(MF_EINVAL, "mf_map: NULL argument");
    *out = NULL;
    if (opts)
        o = *opts;
    else
        mf_map_opts_init(&o);
    if (o.chunksize == 0)
        o.chunksize = 1;
    it = mf__calloc(1, sizeof *it);
    if (!it)
        return mf__fail(MF_ENOMEM, "mf_map: out of memory");
    it->ex = ex;
    it->n = n;
    it->cs = o.chunksize;
    it->ntask = n ? (n - 1) / it->cs + 1 : 0;
    it->unordered = o.unordered;
    /* 0 (a zeroed struct) or negative: no timeout. */
    it->deadline = mf__deadline(o.timeout <= 0 ? MF_FOREVER : o.timeout);
    it->f = mf__calloc(it->ntask ? it->ntask : 1, sizeof *it->f);
    if (!it->f) {
        mf__free(it);
        return mf__fail(MF_ENOMEM, "mf_map: out of memory");
    }
    mf__lock();
    if ((rc = mf_map_make(ex, fn, args, lens, it)) != MF_OK) {
        mf__unlock();
        mf__free(it->f);
        mf__free(it);
        return rc;
    }
    for (size_t t = 0; t < it->ntask; t++)
        if (!ex->journal || !mf__journal_try(ex, it->f[t]))
            mf__enqueue(ex, it->f[t]);
    ex->obs.submitted += it->n; /* items, as the statistics count them */
    (void)mf__progress(ex, NULL);
    mf__unlock();
    if (it->unordered && (rc = mf_map_unordered(it, o.timeout)) != MF_OK) {
        mf_map_free(it);
        return rc;
    }
    *out = it;
    return MF_OK;
}

static bool mf_pred_done(void *p)
{
    return mf__fut_is_done((mf_fut *)p);
}

static void mf_release_task(mf_map_iter *it, size_t t)
{
    if (it->f[t]) {
        if (it->view_of == t + 1) {
            mf__chunk_view_free(&it->view);
            it->view_of = 0;
        }
        it->f[t]->refs--;
        mf__fut_maybe_free(it->f[t]);
        it->f[t] = NULL;
    }
}

/* Give item `pos` of finished task `t` (lock held). */
static int mf_give(mf_map_iter *it, size_t t, size_t pos, const void **data,
                   size_t *len, size_t *index)
{
    mf_fut *f = it->f[t];
    size_t i = t * it->cs + pos;
    const mf_reg_entry *re = NULL;
    if (index)
        *index = i;
    if (f->state == MF_FS_CANCELLED)
        return mf__fail(MF_ECANCELLED, "item %zu was cancelled", i);
    if (f->state == MF_FS_FAILED)
        return mf__fail(MF_ETASK,
                        "item %zu: task '%s' failed on rank %d (%s): %s", i,
                        f->err->pub.function, f->err->pub.rank,
                        f->err->pub.host, f->err->pub.message);
    if (!f->nitems) {
        if (data)
            *data = f->res;
        if (len)
            *len = f->res_len;
        return MF_OK;
    }
    if (it->view_of != t + 1) {
        if (it->view_of)
            mf__chunk_view_free(&it->view);
        it->view_rc = mf__chunk_parse(f->res, f->res_len, 1, &it->view);
        if (it->view_rc == MF_OK && it->view.n != f->nitems) {
            mf__chunk_view_free(&it->view);
            it->view_rc = MF_EPROTO;
        }
        it->view_of = t + 1;
    }
    if (it->view_rc != MF_OK)
        return mf__fail(MF_ETASK,
                        "item %zu: the chunk's result from rank %d "
                        "is malformed",
                        i, f->worker);
    if (it->view.status[pos] != MF_RS_OK) {
        const mf_executor *ex = it->ex;
        bool open = ex && ex->magic == MF_EX_MAGIC;
        re = open ? mf__snap_find(&ex->reg, f->fn) : NULL;
        const char *host = open && ex->hosts && f->worker >= 0 &&
                                   f->worker < ex->size &&
                                   ex->hosts[f->worker]
                               ? ex->hosts[f->worker]
                               : "?";
        return mf__fail(
            MF_ETASK,
            "item %zu: task '%s' failed on rank %d (%s): "
            "%.*s",
            i, re ? re->name : "?", f->worker, host,
            (int)(it->view.len[pos] > 800 ? 800 : it->view.len[pos]),
            (const char *)it->view.ptr[pos]);
    }
    if (data)
        *data = it->view.ptr[pos];
    if (len)
        *len = it->view.len[pos];
    return MF_OK;
}

MF_API int mf_map_next(mf_map_iter *it, const void **data, size_t *len,
                       size_t *index)
{
    size_t t;
    int rc = MF_OK;
    mf__clear_error();
    if (!it)
        return mf__fail(MF_EINVAL, "mf_map_next: NULL iterator");
    mf__lock();
    if (it->finished || it->given == it->n) {
        mf__unlock();
        return MF_EDONE;
    }
    /* The task we read last is used up: let its memory go. */
    if (it->have_cur && it->pos == mf_items_in(it, it->cur)) {
        mf_release_task(it, it->cur);
        it->have_cur = false;
    }
    if (!it->have_cur) {
        if (it->unordered) {
            rc = mf__ac_next(it->ac, &t);
        } else {
            t = it->given / it->cs;
            if (!mf__fut_is_done(it->f[t])) {
                double now = mf__now();
                if (mf__cb_depth > 0 && it->deadline > now)
                    rc = mf__fail(MF_EINCALLBACK, "mf_map_next from a done "
                                                  "callback");
                else
                    rc = mf__wait_until(mf_pred_done, it->f[t],
                                        it->deadline > now ? it->deadline
                                                           : now);
            }
        }
        if (rc == MF_ETIMEDOUT) {
            mf_map_cancel_rest(it);
            it->finished = true;
            mf__fail(MF_ETIMEDOUT, "map timed out after %zu of %zu items",
                     it->given, it->n);
        }
        if (rc != MF_OK) {
            mf__unlock();
            return rc;
        }
        it->cur = t;
        it->pos = 0;
        it->have_cur = true;
    }
    rc = mf_give(it, it->cur, it->pos, data, len, index);
    it->pos++;
    it->given++;
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
    for (size_t t = 0; t < it->ntask; t++)
        mf_release_task(it, t);
    if (it->view_of)
        mf__chunk_view_free(&it->view);
    mf__unlock();
    mf__free(it->f);
    mf__free(it);
}

MF_API int mf_map_array(mf_executor *ex, mf_fn_id fn, const void *base,
                        size_t n, size_t size, const mf_map_opts *opts,
                        mf_map_iter **it)
{
    mf__clear_error();
    if (n && (!base || !size))
        return mf__fail(MF_EINVAL, "mf_map_array: NULL base or zero size");
    if (n > SIZE_MAX / (sizeof(void *) + sizeof(size_t)))
        return mf__fail(MF_EINVAL, "mf_map_array: %zu items", n);
    /* The argument table mf_map() takes, made here once; mf_map() copies
     * the bytes, so the table goes as soon as it returns. */
    const void **args = mf__malloc((n ? n : 1) * sizeof *args);
    size_t *lens = mf__malloc((n ? n : 1) * sizeof *lens);
    int rc;
    if (!args || !lens) {
        rc = mf__fail(MF_ENOMEM, "mf_map_array: out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            args[i] = (const char *)base + i * size;
            lens[i] = size;
        }
        rc = mf_map(ex, fn, args, lens, n, opts, it);
    }
    mf__free(args);
    mf__free(lens);
    return rc;
}
