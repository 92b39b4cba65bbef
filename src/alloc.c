/* alloc.c — the library's allocator, with a failure-injection hook so the
 * unit tests can make the nth allocation fail and check every path returns
 * MF_ENOMEM without leaking. */
#include "internal.h"

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
