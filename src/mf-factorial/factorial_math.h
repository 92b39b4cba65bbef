/*
 * factorial_math.h — the number theory behind mf-factorial (internal).
 *
 * Pure functions on GMP integers, no MPI: exact decimal digit counts,
 * residues mod 2^61-1, leading/trailing decimal digits of n!, and the
 * prime-exponent split of one huge n! into parts that can be computed on
 * different ranks. Reentrant (the trailing-digit table is built once,
 * under a call_once-style guard that is safe for one thread per rank).
 */
#ifndef MF_FACTORIAL_MATH_H
#define MF_FACTORIAL_MATH_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

/** The checksum modulus M = 2^61 - 1 (a Mersenne prime). */
#define MFF_MOD ((uint64_t)0x1FFFFFFFFFFFFFFFull)

/** |z| mod M, read from the limbs (no division). */
uint64_t mff_mod_m(const mpz_t z);

/** n! mod M by the plain product 1*2*...*n mod M (independent of GMP). */
uint64_t mff_fact_mod_m(uint64_t n);

/** Exact number of decimal digits of |z| (1 for 0). */
uint64_t mff_digits(const mpz_t z);

/** The first `k` (1..18) decimal digits of |z| as a number, given its
 *  exact digit count `digits` (fewer if |z| has fewer digits). */
uint64_t mff_leading(const mpz_t z, uint64_t digits, int k);

/** Number of trailing decimal zeros of n! (Legendre's formula for 5). */
uint64_t mff_fact_zeros(uint64_t n);

/** The 9 decimal digits of n! just before its trailing zeros, i.e.
 *  (n! / 10^zeros) mod 10^9, computed in O(log n) after a one-time table
 *  (7.8 MB, built on first use). `z` must be n! (its low bits are used). */
uint64_t mff_fact_tail9(uint64_t n, const mpz_t z);

/** Estimated size of n! in bits (from lgamma; within a few bits). */
double mff_fact_bits(uint64_t n);

/** Strict parse of a non-negative decimal integer (digits only, optional
 *  surrounding blanks); 0 on success, -1 if malformed or > UINT64_MAX. */
int mff_parse_u64(const char *s, uint64_t *out);

/* ---- Huge n!: the prime-exponent split --------------------------------
 * n! = 2^e2 * prod over odd primes p <= n of p^e(p), e(p) = sum n/p^i.
 * Part k of K (0 <= k < K) is the product of p^e(p) over the odd primes
 * whose index (3 is index 0) is k mod K, computed as acc = acc^2 * Q_j from
 * the top bit j of the exponents down, Q_j a product tree of the part's
 * primes whose exponent has bit j set. So
 *     n! = (part 0 * ... * part K-1) << mff_fact_twos(n).
 */

/** The exponent of 2 in n! (n - popcount(n)). */
uint64_t mff_fact_twos(uint64_t n);

/** Part k of K of n! as above (k < K, K >= 1). Returns 0, or -1 if out of
 *  memory for the sieve. */
int mff_huge_part(mpz_t out, uint64_t n, unsigned k, unsigned K);

/** Bit offset of slice i of S of a number of `bits` bits, cut at limb
 *  boundaries: slice i is bits [mff_slice_bit(bits,S,i),
 *  mff_slice_bit(bits,S,i+1)). */
uint64_t mff_slice_bit(uint64_t bits, unsigned S, unsigned i);

/** r = bits [lo, hi) of |b|, as a non-negative number. */
void mff_slice(mpz_t r, const mpz_t b, uint64_t lo, uint64_t hi);

/** In one process, the same split the program distributes: K parts,
 *  pairwise products until two are left, then the last product cut into
 *  S slices of the smaller factor, summed with shifts, times 2^e2.
 *  For tests (it must equal mpz_fac_ui(n)). Returns 0 or -1. */
int mff_huge_local(mpz_t out, uint64_t n, unsigned K, unsigned S);

#endif /* MF_FACTORIAL_MATH_H */
