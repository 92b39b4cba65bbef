/*
 * alloc.h — allocation through the library's own functions, so tests can
 * inject failures; the big-block cache; task result buffers.
 */
#ifndef MF_ALLOC_H
#define MF_ALLOC_H

#include <stddef.h>

void *mf__malloc(size_t n);
void *mf__calloc(size_t n, size_t size);
void *mf__realloc(void *p, size_t n);
void mf__free(void *p);
char *mf__strdup(const char *s);
/* Test hook: make the nth allocation from now fail (0 = never). */
void mf__alloc_fail_after(unsigned long n);
/* Allocations left before the injected failure (0: it happened or none). */
unsigned long mf__alloc_fail_pending(void);
/* Test hook: blocks allocated through the functions above, not freed. */
long mf__alloc_live(void);
/* Large blocks (MF_BIG_MIN and up) through a small cache of freed ones,
 * so big payloads do not land in fresh pages every time. Free with
 * mf__big_put() only; mf__big_trim() returns the cache to the system. */
#define MF_BIG_MIN ((size_t)1 << 20)
void *mf__big_get(size_t n);
void mf__big_put(void *p);
void mf__big_trim(void);
/* Task result buffers (any size); free with mf__res_free() only. */
void *mf__res_alloc(size_t n);
void *mf__res_realloc(void *p, size_t n);
void mf__res_free(void *p);

#endif
