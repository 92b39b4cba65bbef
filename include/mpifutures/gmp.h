/**
 * @file mpifutures/gmp.h
 * GMP integers (mpz_t) as task arguments and results.
 *
 * A small helper library (target `mpifutures_gmp`, link `-lmpifutures_gmp
 * -lmpifutures -lgmp`) built only on the public core API. It turns an mpz_t
 * into a byte string in a portable format and back:
 *
 *     // worker, inside a task function: result written with no extra copy
 *     mpz_fac_ui(f, n);
 *     return mf_mpz_task_return(task, f);
 *
 *     // root, after mf_future_result(fut, MF_FOREVER, &data, &len)
 *     if (mf_mpz_unpack(f, data, len, NULL) != MF_OK) ...  // MF_EPROTO
 *
 * Wire format, version 1 (MF_MPZ_FORMAT_VERSION). All multi-byte fields are
 * little-endian, whatever the host:
 *
 *     offset  size  field
 *     0       4     magic "MFZN" (0x4D 0x46 0x5A 0x4E)
 *     4       1     format version (1)
 *     5       1     sign: 0 = zero or positive, 1 = negative
 *     6       1     flags, must be 0
 *     7       1     header check byte: 0xA5 XOR the sum (mod 256) of bytes
 *                   0..6 and 8..15
 *     8       8     m = byte length of the magnitude (uint64)
 *     16      m     |value|, least significant byte first, no high zero
 *                   byte (m = 0 exactly for the value 0, whose sign is 0)
 *
 * So a value has exactly one encoding, of mf_mpz_packed_size() =
 * MF_MPZ_HEADER_BYTES + m bytes; limb size and host byte order do not
 * matter. The decoder is bounds-checked and strict: wrong magic, version,
 * flags or check byte, a non-canonical encoding, or a length that does not
 * match the buffer fail with MF_EPROTO, never a crash or an over-read.
 * (The format carries no checksum of the magnitude: a flipped bit in the
 * magnitude itself decodes to another valid number. MPI delivers bytes
 * intact; the checks are against truncation, mix-ups and garbage.)
 *
 * Thread safety: every function is reentrant; calls on distinct objects may
 * run concurrently, and a packed buffer or an mpz_t that is only read may be
 * shared. GMP aborts the process when it cannot allocate memory (its own
 * policy); these helpers never call exit or abort themselves.
 */
#ifndef MPIFUTURES_GMP_H
#define MPIFUTURES_GMP_H

#include <gmp.h>
#include <mpifutures.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the wire format written by mf_mpz_pack(). */
#define MF_MPZ_FORMAT_VERSION 1
/** Size of the fixed header in front of the magnitude bytes. */
#define MF_MPZ_HEADER_BYTES 16

/**
 * Number of bytes mf_mpz_pack() writes for `z`: MF_MPZ_HEADER_BYTES plus the
 * byte length of |z| (0 for z = 0). `z` must be initialised. Never fails.
 */
MF_API size_t mf_mpz_packed_size(const mpz_t z);

/**
 * Write the encoding of `z` to `buf`, which has room for `cap` bytes.
 * `written` (may be NULL) receives the number of bytes written, which is
 * mf_mpz_packed_size(z). The caller owns `buf`; nothing is kept.
 * Errors: MF_EINVAL (`buf` NULL), MF_E2BIG (`cap` smaller than
 * mf_mpz_packed_size(z); nothing written).
 */
MF_API int mf_mpz_pack(const mpz_t z, void *buf, size_t cap, size_t *written);

/**
 * Decode the encoding at `buf` (`len` bytes available) into `z`, which must
 * be initialised (its old value is replaced; it is resized as needed).
 * If `used` is NULL the encoding must fill `buf` exactly; otherwise trailing
 * bytes are allowed (several values may be packed one after another) and
 * `*used` receives the number of bytes consumed. `buf` is only read, needs
 * no alignment and is not kept.
 * Errors: MF_EINVAL (`z` NULL, or `buf` NULL with `len` > 0), MF_EPROTO
 * (truncated, wrong magic/version/flags/check byte, non-canonical
 * encoding, or trailing bytes with `used` NULL), MF_E2BIG (the magnitude
 * is larger than GMP can hold). On error `z` and `*used` are unchanged.
 */
MF_API int mf_mpz_unpack(mpz_t z, const void *buf, size_t len, size_t *used);

/**
 * Check the encoding at `buf` exactly as mf_mpz_unpack() does, and locate
 * its parts without copying anything: `*sign` (may be NULL) receives -1, 0
 * or 1; `*mag` (may be NULL) the address inside `buf` of the magnitude bytes
 * (least significant first; NULL for the value 0); `*mag_bytes` (may be
 * NULL) their count. `used` works as in mf_mpz_unpack(). For readers that
 * consume a large value in place (hashing, writing it out, building a view).
 * Errors: as mf_mpz_unpack(); on error nothing is written.
 */
MF_API int mf_mpz_peek(const void *buf, size_t len, int *sign,
                       const unsigned char **mag, uint64_t *mag_bytes,
                       size_t *used);

/**
 * Zero-copy unpack: make `view` a read-only mpz (mpz_roinit_n()) whose limbs
 * are the magnitude bytes inside `buf`. Possible only where the encoding's
 * bytes are GMP's limbs: a little-endian host without nail bits, the
 * magnitude at a limb-aligned address, and the bytes from its end up to the
 * next limb boundary present in `buf` and zero (write encodings with
 * zero padding to a multiple of 8 bytes, see mf_mpz_padded_size(), and
 * start them at 8-byte aligned offsets). With `used` NULL the buffer must
 * be the encoding, alone or followed by its padding; otherwise `*used`
 * receives the encoding's size without the padding.
 *
 * `view` must not be initialised, cleared or written (it is only a window
 * on `buf`): use it as a source operand while `buf` lives and stays
 * unchanged. Returns MF_OK; MF_ESTATE (valid encoding, but this layout or
 * host does not allow a view: call mf_mpz_unpack() instead); the errors of
 * mf_mpz_unpack() for a malformed encoding. Thread-safe (reads only).
 */
MF_API int mf_mpz_view(mpz_t view, const void *buf, size_t len, size_t *used);

/** mf_mpz_packed_size(z) rounded up to a multiple of 8: the room an
 *  encoding takes when the next one (or the end of a buffer meant for
 *  mf_mpz_view()) starts 8-byte aligned. The caller zero-fills the padding
 *  bytes after mf_mpz_pack(). */
MF_API size_t mf_mpz_padded_size(const mpz_t z);

/**
 * Worker side: make the encoding of `z` the result of `task`, written
 * straight into the task's result space (mf_task_result_buffer()), with no
 * intermediate copy. Replaces any earlier result of the task. Call only
 * from inside the task function; `z` may be freed as soon as it returns.
 * Errors: those of mf_task_result_buffer() (MF_EINVAL, MF_E2BIG,
 * MF_ENOMEM).
 */
MF_API int mf_mpz_task_return(mf_task *task, const mpz_t z);

/**
 * Worker side: decode the argument of `task` (which must be exactly one
 * encoding) into `z`. Same errors as mf_mpz_unpack() with `used` NULL.
 */
MF_API int mf_mpz_task_arg(const mf_task *task, mpz_t z);

#ifdef __cplusplus
}
#endif

#endif /* MPIFUTURES_GMP_H */
