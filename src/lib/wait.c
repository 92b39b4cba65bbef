/* wait.c — mf_wait() and mf_as_completed().
 *
 * mf_wait rescans its futures only when some future somewhere has
 * finished since the last scan (a global counter), so a long wait costs
 * O(n) per completion batch, not per poll. as_completed registers an
 * internal watcher on each pending future that appends it to a ready
 * queue, so each step is O(1); futures can be added while iterating (a
 * completion queue: the bounded-pipeline idiom costs O(1) per task), and
 * freeing the iterator removes the watchers that have not fired.
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

/* One future of an iterator. Entries never move (watchers hold pointers
 * to them): they live in blocks, and an entry whose future was handed
 * over for good goes back on a free list, so a long-lived completion
 * queue costs memory for what is outstanding, not for all it has seen. */
typedef struct mf_ac_entry {
    struct mf_as_completed_iter *it;
    mf_fut *f;                /* retained while not NULL */
    size_t pos;               /* position reported by next_index */
    struct mf_ac_entry *next; /* ready queue, or free list */
    bool watching;            /* our watcher is on f */
} mf_ac_entry;

typedef struct mf_ac_block {
    struct mf_ac_block *next;
    size_t n;
    mf_ac_entry e[];
} mf_ac_block;

struct mf_as_completed_iter {
    mf_ac_block *blocks;
    size_t nalloc;            /* entries in all blocks */
    mf_ac_entry *free_list;   /* entries to reuse */
    mf_ac_entry *head, *tail; /* finished, not yet given: in order */
    size_t npending;          /* added and not yet given */
    size_t npos;              /* positions used (initial n, then adds) */
    double deadline;
};

/* Lock held. */
static int mf_ac_grow(mf_as_completed_iter *it, size_t want)
{
    size_t n = want > it->nalloc ? want : it->nalloc;
    if (n < 16)
        n = 16;
    mf_ac_block *b = mf__malloc(sizeof *b + n * sizeof b->e[0]);
    if (!b)
        return MF_ENOMEM;
    b->n = n;
    b->next = it->blocks;
    it->blocks = b;
    it->nalloc += n;
    for (size_t i = n; i-- > 0;) {
        b->e[i] = (mf_ac_entry){it, NULL, 0, it->free_list, false};
        it->free_list = &b->e[i];
    }
    return MF_OK;
}

static void mf_ac_push_ready(mf_as_completed_iter *it, mf_ac_entry *e)
{
    e->next = NULL;
    if (it->tail)
        it->tail->next = e;
    else
        it->head = e;
    it->tail = e;
}

/* Runs under the lock when the future finishes (a watcher). */
static void mf_ac_on_done(mf_future h, void *ud)
{
    mf_ac_entry *e = ud;
    (void)h;
    e->watching = false;
    mf_ac_push_ready(e->it, e);
}

/* Put f (usable, lock held) into the set at position pos. */
static int mf_ac_put(mf_as_completed_iter *it, mf_fut *f, size_t pos)
{
    if (!it->free_list && mf_ac_grow(it, 0) != MF_OK)
        return MF_ENOMEM;
    mf_ac_entry *e = it->free_list;
    if (!mf__fut_is_done(f) &&
        mf__fut_add_watch(f, mf_ac_on_done, e) != MF_OK)
        return MF_ENOMEM;
    it->free_list = e->next;
    e->f = f;
    f->refs++;
    e->pos = pos;
    it->npending++;
    if (mf__fut_is_done(f))
        mf_ac_push_ready(it, e);
    else
        e->watching = true;
    return MF_OK;
}

/* An entry given for good: its reference already dealt with. */
static void mf_ac_recycle(mf_as_completed_iter *it, mf_ac_entry *e)
{
    e->f = NULL;
    e->next = it->free_list;
    it->free_list = e;
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
    it->deadline = mf__deadline(timeout);
    it->npos = n;
    mf__lock();
    if (n && mf_ac_grow(it, n) != MF_OK) {
        mf__unlock();
        mf_as_completed_free(it);
        return mf__fail(MF_ENOMEM, "mf_as_completed: out of memory");
    }
    uint32_t mark = mf__next_mark();
    for (size_t i = 0; i < n; i++) {
        if (!mf__fut_usable(futs[i])) {
            mf__unlock();
            mf_as_completed_free(it);
            return mf__fail(MF_EBADHANDLE,
                            "mf_as_completed: future %zu is "
                            "stale or null",
                            i);
        }
    }
    /* Done ones first, in input order; then watchers on the rest. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            mf_fut *f = mf__fut_usable(futs[i]);
            if (mf__fut_is_done(f) != (pass == 0) || f->mark == mark)
                continue; /* other pass, or a duplicate: given once */
            f->mark = mark;
            if (mf_ac_put(it, f, i) != MF_OK) {
                mf__unlock();
                mf_as_completed_free(it);
                return mf__fail(MF_ENOMEM, "mf_as_completed: out of "
                                           "memory");
            }
        }
    }
    mf__unlock();
    *out = it;
    return MF_OK;
}

MF_API int mf_as_completed_add(mf_as_completed_iter *it, mf_future fut)
{
    int rc;
    mf__clear_error();
    if (!it)
        return mf__fail(MF_EINVAL, "mf_as_completed_add: NULL iterator");
    mf__lock();
    mf_fut *f = mf__fut_usable(fut);
    if (!f)
        rc = mf__fail(MF_EBADHANDLE,
                      "mf_as_completed_add: the future is stale or null");
    else if (mf_ac_put(it, f, it->npos) != MF_OK)
        rc = mf__fail(MF_ENOMEM, "mf_as_completed_add: out of memory");
    else {
        it->npos++;
        rc = MF_OK;
    }
    mf__unlock();
    return rc;
}

static bool mf_ac_pred(void *p)
{
    mf_as_completed_iter *it = p;
    return it->head != NULL;
}

/* The next finished entry, out of the ready queue; lock held. */
static int mf_ac_pop(mf_as_completed_iter *it, mf_ac_entry **out)
{
    int rc = MF_OK;
    if (!it->head) {
        if (it->npending == 0)
            return MF_EDONE;
        double now = mf__now();
        if (mf__cb_depth > 0 && it->deadline > now)
            return mf__fail(MF_EINCALLBACK, "mf_as_completed_next from a "
                                            "done callback");
        rc = mf__wait_until(mf_ac_pred, it,
                            it->deadline > now ? it->deadline : now);
    }
    if (rc == MF_OK) {
        mf_ac_entry *e = it->head;
        it->head = e->next;
        if (!it->head)
            it->tail = NULL;
        e->next = NULL;
        it->npending--;
        *out = e;
    }
    return rc;
}

int mf__ac_next(mf_as_completed_iter *it, size_t *index)
{
    mf_ac_entry *e = NULL;
    int rc = mf_ac_pop(it, &e);
    if (rc == MF_OK)
        *index = e->pos; /* the entry keeps its reference until free */
    return rc;
}

MF_API int mf_as_completed_next(mf_as_completed_iter *it, mf_future *fut)
{
    mf_ac_entry *e = NULL;
    int rc;
    mf__clear_error();
    if (!it || !fut)
        return mf__fail(MF_EINVAL, "mf_as_completed_next: NULL argument");
    mf__lock();
    rc = mf_ac_pop(it, &e);
    if (rc == MF_OK)
        *fut = mf__fut_handle(e->f); /* borrowed: kept until free */
    mf__unlock();
    return rc;
}

MF_API int mf_as_completed_next_index(mf_as_completed_iter *it, size_t *index)
{
    mf_ac_entry *e = NULL;
    int rc;
    mf__clear_error();
    if (!it || !index)
        return mf__fail(MF_EINVAL,
                        "mf_as_completed_next_index: NULL argument");
    mf__lock();
    rc = mf_ac_pop(it, &e);
    if (rc == MF_OK) {
        *index = e->pos;
        /* Given: the iterator lets go of it now. */
        mf_fut *f = e->f;
        mf_ac_recycle(it, e);
        f->refs--;
        mf__fut_maybe_free(f);
    }
    mf__unlock();
    return rc;
}

MF_API int mf_as_completed_take(mf_as_completed_iter *it, mf_future *fut,
                                size_t *index)
{
    mf_ac_entry *e = NULL;
    int rc;
    mf__clear_error();
    if (!it || !fut)
        return mf__fail(MF_EINVAL, "mf_as_completed_take: NULL argument");
    mf__lock();
    rc = mf_ac_pop(it, &e);
    if (rc == MF_OK) {
        if (index)
            *index = e->pos;
        *fut = mf__fut_handle(e->f); /* the iterator's reference, now
                                        the caller's */
        mf_ac_recycle(it, e);
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

MF_API void mf_as_completed_free(mf_as_completed_iter *it)
{
    if (!it)
        return;
    mf__lock();
    for (mf_ac_block *b = it->blocks; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            mf_ac_entry *e = &b->e[i];
            if (!e->f)
                continue; /* free, or given for good */
            if (e->watching)
                mf__fut_remove_cb(e->f, mf_ac_on_done, e);
            e->f->refs--;
            mf__fut_maybe_free(e->f);
            e->f = NULL;
        }
    mf__unlock();
    while (it->blocks) {
        mf_ac_block *b = it->blocks;
        it->blocks = b->next;
        mf__free(b);
    }
    mf__free(it);
}
