/* link_thread.c — the link of a local thread pool: the root and its
 * worker threads share one table of inboxes, one per peer.
 *
 * Posting a message turns it, and each out-of-line payload, into receive
 * buffers and appends them to the destination's inbox in one go (under
 * the inbox's mutex), so the parts of one message lie together even when
 * several threads post to the root at once; a posted message is thus sent
 * at once. Nothing the sender gives up is copied: the message's own
 * buffer, a task's result and a large argument become the receiver's
 * buffers as they are (the threads share one heap); only bytes the
 * sender keeps are copied. Polling takes the oldest message; recv_ool takes
 * the part that follows it. Nothing here blocks but for the inbox mutex, and
 * a worker's nap (its idle backoff's sleep, woken by a post to its inbox).
 * Threads do not die alone, so no peer is ever lost.
 */
#include "link.h"

#include "alloc.h"
#include "errors.h"
#include "rbuf.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

typedef struct mf_frame {
    int from;
    mf_rbuf *rb;
} mf_frame;

typedef struct mf_inbox {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a napping owner waits here for a frame */
    int nappers;       /* threads waiting on cv */
    mf_frame *f;
    size_t head, n, cap; /* frames f[head..head+n), linear */
} mf_inbox;

struct mf_tpool {
    int npeers;
    mf_inbox *box;
};

typedef struct mf_link_thread {
    mf_link base;
    struct mf_tpool *pool;
    int self;
    int owner; /* frees the pool */
} mf_link_thread;

static mf_link_thread *mf_lt(mf_link *l)
{
    return (mf_link_thread *)l;
}

/* Append n frames to an inbox (mutex held). */
static int mf_box_push(mf_inbox *b, const mf_frame *fr, size_t n)
{
    if (b->head + b->n + n > b->cap) {
        if (b->head) { /* slide down first */
            memmove(b->f, b->f + b->head, b->n * sizeof *b->f);
            b->head = 0;
        }
        size_t cap = b->cap ? b->cap : 16;
        while (cap < b->n + n)
            cap *= 2;
        if (cap != b->cap) {
            mf_frame *nf = mf__realloc(b->f, cap * sizeof *nf);
            if (!nf)
                return MF_ENOMEM;
            b->f = nf;
            b->cap = cap;
        }
    }
    memcpy(b->f + b->head + b->n, fr, n * sizeof *fr);
    b->n += n;
    return MF_OK;
}

static mf_rbuf *mf_copy(const void *p, size_t n)
{
    mf_rbuf *r = mf__rbuf_new(n);
    if (r && n)
        memcpy(r->data, p, n);
    return r;
}

/* An out-of-line part as a receive buffer. What the message owns and
 * frees with one of the library's own functions is handed over as it is
 * (no copy: the receiver's buffer is the sender's, and *release becomes
 * NULL); what the caller keeps, or a user's free_arg (which runs on the
 * root, under the lock, by its contract), is copied. */
static mf_rbuf *mf_part(const void *p, size_t len, mf_free_fn *release)
{
    mf_free_fn fn = *release;
    if (fn == mf__rbuf_release_data) {
        mf_rbuf *r = mf__rbuf_of((void *)p);
        if (r->refs == 1 && r->data == p && len <= r->len) {
            r->len = len;
            *release = NULL;
            return r;
        }
    } else if (fn == mf__free || fn == mf__res_free || fn == mf__big_put) {
        mf_rbuf *r = mf__rbuf_wrap((void *)p, len, fn);
        if (r) {
            *release = NULL;
            return r;
        }
    }
    return mf_copy(p, len);
}

static int mf_lt_post(mf_link *lk, mf_send *s, int dest)
{
    mf_link_thread *l = mf_lt(lk);
    mf_frame fr[9], *frames = fr;
    size_t n = 1 + s->nool;
    int rc = MF_OK;
    if (dest < 0 || dest >= l->pool->npeers)
        return mf__fail(MF_EINVAL, "no peer %d", dest);
    if (n > 9 && !(frames = mf__malloc(n * sizeof *frames)))
        return mf__fail(MF_ENOMEM, "out of memory sending");
    for (size_t i = 1; i < n; i++) {
        frames[i].from = l->self;
        frames[i].rb = mf_part(s->ool[i - 1].p, s->ool[i - 1].len,
                               &s->ool[i - 1].release);
        if (!frames[i].rb)
            rc = MF_ENOMEM;
    }
    /* The message itself: its buffer is the message's own (mf__free),
     * so it is handed over too when all the rest is ready. */
    frames[0].from = l->self;
    frames[0].rb = NULL;
    if (rc == MF_OK && s->buf &&
        (frames[0].rb = mf__rbuf_wrap(s->buf, s->len, mf__free)) != NULL) {
        s->buf = NULL;
        s->cap = 0;
    } else if (rc == MF_OK && !(frames[0].rb = mf_copy(s->buf, s->len))) {
        rc = MF_ENOMEM;
    }
    if (rc == MF_OK) {
        mf_inbox *b = &l->pool->box[dest];
        pthread_mutex_lock(&b->mu);
        rc = mf_box_push(b, frames, n);
        if (rc == MF_OK && b->nappers)
            pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
    if (rc != MF_OK) {
        if (frames[0].rb && !s->buf) { /* give the message its buffer back */
            s->buf = frames[0].rb->data;
            s->cap = s->len;
            frames[0].rb->ext_free = NULL;
        }
        for (size_t i = 0; i < n; i++)
            mf__rbuf_unref(frames[i].rb);
    }
    if (frames != fr)
        mf__free(frames);
    if (rc != MF_OK)
        return mf__fail(rc, "out of memory sending");
    s->sent = 1;
    return MF_OK;
}

static int mf_lt_test(mf_link *lk, mf_send *s)
{
    (void)lk;
    return s->sent;
}

static int mf_lt_wait(mf_link *lk, mf_send *s)
{
    (void)lk;
    (void)s;
    return MF_OK; /* (posting sent it) */
}

/* The oldest frame of my inbox, from src (any: MF_ANY_PEER). */
static int mf_lt_take(mf_link_thread *l, int src, int *from, mf_rbuf **rb)
{
    mf_inbox *b = &l->pool->box[l->self];
    int rc = MF_OK;
    *rb = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->n) {
        mf_frame fr = b->f[b->head];
        if (src != MF_ANY_PEER && fr.from != src) {
            rc = MF_EPROTO; /* (a peer's parts always lie together) */
        } else {
            *from = fr.from;
            *rb = fr.rb;
            b->head++;
            if (--b->n == 0)
                b->head = 0;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc == MF_OK
               ? MF_OK
               : mf__fail(rc, "a message from peer %d out of turn", src);
}

static int mf_lt_poll(mf_link *lk, int src, int *from, mf_rbuf **rb)
{
    return mf_lt_take(mf_lt(lk), src, from, rb);
}

static int mf_lt_recv_ool(mf_link *lk, int src, size_t len, mf_rbuf **out)
{
    int from = -1;
    int rc = mf_lt_take(mf_lt(lk), src, &from, out);
    if (rc != MF_OK)
        return rc;
    if (!*out || (*out)->len != len) {
        size_t got = *out ? (*out)->len : 0;
        mf__rbuf_unref(*out);
        *out = NULL;
        return mf__fail(MF_EPROTO, "a %zu-byte payload where %zu were due",
                        got, len);
    }
    return MF_OK;
}

static int mf_lt_lost(mf_link *lk)
{
    (void)lk;
    return -1;
}

static void mf_lt_free(mf_link *lk)
{
    mf_link_thread *l = mf_lt(lk);
    if (l->owner) {
        for (int i = 0; i < l->pool->npeers; i++) {
            mf_inbox *b = &l->pool->box[i];
            for (size_t k = 0; k < b->n; k++)
                mf__rbuf_unref(b->f[b->head + k].rb);
            mf__free(b->f);
            pthread_cond_destroy(&b->cv);
            pthread_mutex_destroy(&b->mu);
        }
        mf__free(l->pool->box);
        mf__free(l->pool);
    }
    mf__free(l);
}

/* A worker's nap: wait on its inbox until a frame comes. (Not the root's:
 * a closing thread may free the pool while another root thread sleeps;
 * a worker thread is joined before that.) */
static int mf_lt_nap(mf_link *lk, unsigned us)
{
    mf_link_thread *l = mf_lt(lk);
    if (l->owner)
        return -1;
    mf_inbox *b = &l->pool->box[l->self];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += us / 1000000;
    ts.tv_nsec += (long)(us % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    if (b->n == 0) {
        b->nappers++;
        (void)pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        b->nappers--;
    }
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static const mf_link_ops mf_thread_ops = {
    mf_lt_post,     mf_lt_test, mf_lt_wait, mf_lt_poll,
    mf_lt_recv_ool, mf_lt_lost, mf_lt_free, mf_lt_nap,
};

mf_link *mf__link_thread(struct mf_tpool *pool, int self, int npeers)
{
    mf_link_thread *l = mf__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    if (!pool) { /* the root's: it makes (and frees) the table */
        pool = mf__calloc(1, sizeof *pool);
        if (!pool ||
            !(pool->box = mf__calloc((size_t)npeers, sizeof *pool->box))) {
            mf__free(pool);
            mf__free(l);
            return NULL;
        }
        pool->npeers = npeers;
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        for (int i = 0; i < npeers; i++) {
            pthread_mutex_init(&pool->box[i].mu, NULL);
            pthread_cond_init(&pool->box[i].cv, &ca);
        }
        pthread_condattr_destroy(&ca);
        l->owner = 1;
    }
    l->base.ops = &mf_thread_ops;
    l->pool = pool;
    l->self = self;
    return &l->base;
}

struct mf_tpool *mf__link_thread_pool(mf_link *l)
{
    return mf_lt(l)->pool;
}
