/* alloc.c — the library's allocator, with a failure-injection hook so the
 * unit tests can make the nth allocation fail and check every path returns
 * MF_ENOMEM without leaking. */

#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static unsigned long mf_fail_countdown; /* 0 = never fail */
/* Blocks handed out and not freed: tests compare it before an executor
 * opens and after it closes to see that nothing leaked. */
static long mf_live;

long mf__alloc_live(void)
{
    return __atomic_load_n(&mf_live, __ATOMIC_RELAXED);
}

void mf__alloc_fail_after(unsigned long n)
{
    mf_fail_countdown = n;
}

unsigned long mf__alloc_fail_pending(void)
{
    return mf_fail_countdown;
}

static int mf_should_fail(void)
{
    if (mf_fail_countdown == 0)
        return 0;
    if (--mf_fail_countdown == 0)
        return 1;
    return 0;
}

void *mf__malloc(size_t n)
{
    if (mf_should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        __atomic_add_fetch(&mf_live, 1, __ATOMIC_RELAXED);
    return p;
}

void *mf__calloc(size_t n, size_t size)
{
    if (mf_should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        __atomic_add_fetch(&mf_live, 1, __ATOMIC_RELAXED);
    return p;
}

void *mf__realloc(void *p, size_t n)
{
    if (mf_should_fail())
        return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q && !p)
        __atomic_add_fetch(&mf_live, 1, __ATOMIC_RELAXED);
    return q;
}

void mf__free(void *p)
{
    if (p)
        __atomic_sub_fetch(&mf_live, 1, __ATOMIC_RELAXED);
    free(p);
}

char *mf__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mf__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- large blocks: a small cache ---------------------------------------
 * glibc hands blocks of several MiB out by mmap and unmaps them on free,
 * so every large payload landed in fresh pages and paid a page fault per
 * 4 KiB (measured: an 8 MiB echo task took 10 ms instead of 5). Freed
 * large blocks are kept (a few, up to MF_BIG_KEEP bytes in all) and handed
 * out again for requests that fit. */
#define MF_BIG_SLOTS 8
#define MF_BIG_KEEP ((size_t)256 << 20)

typedef struct mf_big_hdr {
    size_t cap;
    size_t pad; /* keeps the data 16-byte aligned */
} mf_big_hdr;

static pthread_mutex_t mf_big_lock = PTHREAD_MUTEX_INITIALIZER;
static mf_big_hdr *mf_big[MF_BIG_SLOTS];
static size_t mf_big_total;

void *mf__big_get(size_t n)
{
    mf_big_hdr *h = NULL;
    pthread_mutex_lock(&mf_big_lock);
    int best = -1;
    for (int i = 0; i < MF_BIG_SLOTS; i++)
        if (mf_big[i] && mf_big[i]->cap >= n && mf_big[i]->cap / 2 <= n &&
            (best < 0 || mf_big[i]->cap < mf_big[best]->cap))
            best = i;
    if (best >= 0) {
        h = mf_big[best];
        mf_big[best] = NULL;
        mf_big_total -= h->cap;
    }
    pthread_mutex_unlock(&mf_big_lock);
    if (!h) {
        h = mf__malloc(sizeof *h + n);
        if (!h)
            return NULL;
        h->cap = n;
    } else {
        __atomic_add_fetch(&mf_live, 1, __ATOMIC_RELAXED);
    }
    return h + 1;
}

void mf__big_put(void *p)
{
    if (!p)
        return;
    mf_big_hdr *h = (mf_big_hdr *)p - 1;
    pthread_mutex_lock(&mf_big_lock);
    if (mf_big_total + h->cap <= MF_BIG_KEEP) {
        for (int i = 0; i < MF_BIG_SLOTS; i++) {
            if (!mf_big[i]) {
                mf_big[i] = h;
                mf_big_total += h->cap;
                h = NULL;
                break;
            }
        }
    }
    pthread_mutex_unlock(&mf_big_lock);
    if (h)
        mf__free(h);
    else
        __atomic_sub_fetch(&mf_live, 1, __ATOMIC_RELAXED);
}

void mf__big_trim(void)
{
    pthread_mutex_lock(&mf_big_lock);
    for (int i = 0; i < MF_BIG_SLOTS; i++) {
        if (mf_big[i]) {
            free(mf_big[i]); /* not counted while cached */
            mf_big[i] = NULL;
        }
    }
    mf_big_total = 0;
    pthread_mutex_unlock(&mf_big_lock);
}

/* Task results: every one carries the header of a large block, so one
 * free function serves the small (malloc) and the large (cached) ones. */
void *mf__res_alloc(size_t n)
{
    if (n >= MF_BIG_MIN)
        return mf__big_get(n);
    mf_big_hdr *h = mf__malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->cap = n;
    return h + 1;
}

void mf__res_free(void *p)
{
    if (!p)
        return;
    mf_big_hdr *h = (mf_big_hdr *)p - 1;
    if (h->cap >= MF_BIG_MIN)
        mf__big_put(p);
    else
        mf__free(h);
}

/* Grow or shrink a task result buffer (every one is a header + data block
 * from malloc, cached or not, so realloc keeps the layout). */
void *mf__res_realloc(void *p, size_t n)
{
    if (!p)
        return mf__res_alloc(n);
    mf_big_hdr *h = mf__realloc((mf_big_hdr *)p - 1, sizeof *h + n);
    if (!h)
        return NULL;
    h->cap = n;
    return h + 1;
}
