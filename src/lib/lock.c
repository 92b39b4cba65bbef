/* lock.c — the library lock, and the work that must run without it.
 *
 * One process-wide recursive mutex guards all library state. Code holding
 * it may defer work that must not run under it — the done callbacks of
 * futures: user code that may take its own locks, run long, or wait on a
 * thread that calls the library — with mf__defer(). When a thread drops
 * the lock to depth 0 (the end of a library call), it first runs the
 * deferred work, in FIFO order, one thread at a time:
 *
 *  - not draining yet: it runs everything queued (it is the drainer);
 *  - a call made by the drainer from inside a callback runs only what that
 *    call itself deferred (cancelling a future in a callback runs the
 *    victim's callbacks before cancel returns, as in Python);
 *  - another thread's call leaves its work to the drainer.
 *
 * Each item runs with the lock held at depth 1 and drops it around user
 * code with mf__unlock_raw()/mf__lock_raw(), which never drain. So a
 * future is complete before anyone can observe it, callbacks never run
 * under the lock, and each item runs exactly once.
 */

#include "lock.h"

#include "mpifutures.h"

#include <pthread.h>

#include <stdlib.h>
#include <string.h>

typedef struct mf_deferred {
    void (*fn)(void *);
    void *arg;
} mf_deferred;

#define MF_DEFER_INLINE 64

static pthread_mutex_t mf_biglock;
static pthread_once_t mf_lock_once = PTHREAD_ONCE_INIT;
static MF_TLS int mf_depth;    /* this thread's lock depth */
static MF_TLS size_t mf_mark;  /* queue length when it took it */
static MF_TLS bool mf_i_drain; /* this thread is the drainer */
MF_TLS int mf__cb_depth;

/* The deferred queue (lock held). Plain malloc, not mf__malloc: it is
 * the library's own bookkeeping, must not fail under injected failures,
 * and is given back whenever it drains. */
static mf_deferred mf_q0[MF_DEFER_INLINE];
static mf_deferred *mf_q = mf_q0;
static size_t mf_qhead, mf_qn, mf_qcap = MF_DEFER_INLINE;
static bool mf_draining;

static void mf_lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&mf_biglock, &a);
    pthread_mutexattr_destroy(&a);
}

void mf__lock_raw(void)
{
    pthread_once(&mf_lock_once, mf_lock_init);
    pthread_mutex_lock(&mf_biglock);
    mf_depth++;
}

void mf__unlock_raw(void)
{
    mf_depth--;
    pthread_mutex_unlock(&mf_biglock);
}

void mf__lock(void)
{
    mf__lock_raw();
    if (mf_depth == 1)
        mf_mark = mf_qn;
}

int mf__defer(void (*fn)(void *), void *arg)
{
    if (mf_qn == mf_qcap) {
        size_t cap = 2 * mf_qcap;
        mf_deferred *n = mf_q == mf_q0 ? malloc(cap * sizeof *n)
                                       : realloc(mf_q, cap * sizeof *n);
        if (!n)
            return MF_ENOMEM;
        if (mf_q == mf_q0)
            memcpy(n, mf_q0, sizeof mf_q0);
        mf_q = n;
        mf_qcap = cap;
    }
    mf_q[mf_qn++] = (mf_deferred){fn, arg};
    return MF_OK;
}

static void mf_drain_all(void)
{
    mf_draining = true;
    mf_i_drain = true;
    while (mf_qhead < mf_qn) {
        mf_deferred d = mf_q[mf_qhead++];
        d.fn(d.arg); /* may queue more */
    }
    mf_qhead = mf_qn = 0;
    if (mf_q != mf_q0) {
        free(mf_q);
        mf_q = mf_q0;
        mf_qcap = MF_DEFER_INLINE;
    }
    mf_i_drain = false;
    mf_draining = false;
}

/* The drainer, inside a callback, ending a call of its own: run what
 * that call deferred, then take it off the queue. */
static void mf_drain_mine(void)
{
    size_t from = mf_mark > mf_qhead ? mf_mark : mf_qhead;
    for (size_t i = from; i < mf_qn; i++) {
        mf_deferred d = mf_q[i];
        d.fn(d.arg);
    }
    mf_qn = from;
}

void mf__unlock(void)
{
    if (mf_depth == 1 && mf_qn > mf_qhead) {
        if (!mf_draining)
            mf_drain_all();
        else if (mf_i_drain)
            mf_drain_mine();
    }
    mf__unlock_raw();
}

bool mf__deferred_ready(void)
{
    return mf_depth == 1 && mf_qn > mf_qhead;
}

void mf__run_deferred(void)
{
    if (mf__deferred_ready()) {
        mf__unlock();
        mf__lock();
    }
}
