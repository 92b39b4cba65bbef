/*
 * fuzz_common.h — shared by the fuzz targets in tests/fuzz (not a library
 * header). Each target defines LLVMFuzzerTestOneInput(); built with clang
 * -fsanitize=fuzzer it is a libFuzzer binary, built with any other
 * compiler it is linked with replay_main.c, which runs files through it.
 *
 * FZ_CHECK aborts with a message when an invariant does not hold, so both
 * libFuzzer and the replay driver report it as a failure with the input.
 */
#ifndef MF_FUZZ_COMMON_H
#define MF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each target sets this to 1 when the decoder accepted the input as a
 * whole, 0 when it refused it (left at -1 when that means nothing). The
 * replay driver holds corpus files named ok-* and bad-* to it, so the
 * seeds keep testing what their names say. Defined by each target. */
extern int fz_verdict;

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "\nfuzz invariant failed at %s:%d: %s\n  ",      \
                    __FILE__, __LINE__, #cond);                              \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* The registry digest of the journals the journal target opens (and the
 * generator writes). */
#define FZ_JOURNAL_DIGEST 0x6d66667a6a726e6cull

/* 1 if [p, p+n) lies inside [buf, buf+len) (n may be 0: p may be the end). */
static inline int fz_inside(const void *p, size_t n, const void *buf,
                            size_t len)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;
    return p != NULL && a >= b && a - b <= len && n <= len - (a - b);
}

static inline size_t fz_pad8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* Little-endian / host-order helpers over raw bytes. */
static inline uint64_t fz_get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t fz_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* A cursor that hands out bytes of the input for structured targets;
 * past the end it returns zeros. */
typedef struct fz_src {
    const uint8_t *p;
    size_t n;
} fz_src;

static inline uint64_t fz_take(fz_src *s, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        uint64_t b = 0;
        if (s->n) {
            b = *s->p++;
            s->n--;
        }
        v |= b << (8 * i);
    }
    return v;
}

/* Strict mode (environment MF_FUZZ_STRICT=1): also fail on inputs that a
 * decoder accepts although no encoder of ours can produce them (reserved
 * fields, padding contents, non-canonical layouts). See README.md. */
static inline int fz_strict(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("MF_FUZZ_STRICT");
        v = e && *e && *e != '0';
    }
    return v;
}

#endif
