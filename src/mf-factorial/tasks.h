/*
 * tasks.h — the three task functions the workers serve, and the formats
 * of their arguments and results.
 *
 *   mf-factorial.chunk  argument: a header word (CHUNK_MAGIC << 32 |
 *                       flags), the count, then the n's, 8 bytes each;
 *                       result: one record of REC_WORDS words per n (n,
 *                       digits, n! mod 2^61-1, leading and trailing
 *                       digits, zeros, nanoseconds, rank), then, with
 *                       FLAG_FULL, the packed values (mf_mpz_pack)
 *   mf-factorial.part   argument: n, then K << 32 | k; result: part k of
 *                       K of the prime-exponent split of n! (mf_mpz)
 *   mf-factorial.mul    argument and result: padded encodings
 *                       (put_mpz_padded), the two factors / the product
 *
 * Design: every word is little-endian 64-bit, so a record is read the
 * same on every rank without a struct layout; the multiplications use
 * padded encodings one after another so that both ends can read them
 * as zero-copy views (get_mpz). The set run reads the chunk records, the
 * huge run builds and reads the padded encodings: both include this.
 */
#ifndef MF_FACTORIAL_TASKS_H
#define MF_FACTORIAL_TASKS_H

#include <stddef.h>

#include <mpifutures.h>
#include <mpifutures/gmp.h>

#define LEAD_DIGITS 10
#define REC_WORDS 8 /* n, digits, mod, lead, tail, zeros, ns, rank */
#define REC_BYTES (REC_WORDS * 8)
#define CHUNK_MAGIC 0x4D464331u /* "MFC1" */
#define FLAG_FULL 1u

typedef struct task_fns {
    mf_fn_id chunk, part, mul;
} task_fns;

/* Register the three functions (every rank, in the same order); an
 * mf_register error code. */
int tasks_register(task_fns *fn);

/* Build the trailing-digit table before a set run's clock starts. */
void tasks_warm_up(void);

/* Padded encodings (mf_mpz_padded_size) one after another, so that the
 * reader can use zero-copy views (mf_mpz_view). */
void put_mpz_padded(unsigned char *buf, size_t *off, const mpz_t z);

/* Read the encoding at buf[*off..len): a view on the bytes when the layout
 * allows, else a copy into `tmp`; *src points at the one to read. */
int get_mpz(const unsigned char *buf, size_t len, size_t *off, mpz_t view,
            mpz_t tmp, mpz_srcptr *src);

#endif
