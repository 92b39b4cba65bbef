/* alloc.c — the library's allocator, with a failure-injection hook so the
 * unit tests can make the nth allocation fail and check every path returns
 * MF_ENOMEM without leaking. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static unsigned long mf_fail_countdown; /* 0 = never fail */

void mf__alloc_fail_after(unsigned long n)
{
    mf_fail_countdown = n;
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
    return malloc(n ? n : 1);
}

void *mf__calloc(size_t n, size_t size)
{
    if (mf_should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *mf__realloc(void *p, size_t n)
{
    if (mf_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void mf__free(void *p)
{
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
