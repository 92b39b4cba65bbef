/*
 * gmp.c — mpz_t <-> portable byte strings (see include/mpifutures/gmp.h).
 *
 * On little-endian hosts whose limbs have no nail bits, the magnitude bytes
 * are the limbs' own bytes: packing and unpacking are one memcpy. Elsewhere
 * mpz_export/mpz_import do the (byte-order independent) conversion.
 */
#include "mpifutures/gmp.h"

#include <limits.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && GMP_NAIL_BITS == 0
#define MFZ_LIMB_COPY 1
#else
#define MFZ_LIMB_COPY 0
#endif

#define MFZ_LIMB_BYTES ((size_t)(GMP_NUMB_BITS / 8))

static const unsigned char mfz_magic[4] = {0x4D, 0x46, 0x5A, 0x4E}; /* MFZN */

static unsigned char mfz_check(const unsigned char *h)
{
    unsigned s = 0;
    for (int i = 0; i < MF_MPZ_HEADER_BYTES; i++)
        if (i != 7)
            s += h[i];
    return (unsigned char)(0xA5u ^ (s & 0xFFu));
}

/* Byte length of |z|. */
static size_t mfz_mag_bytes(const mpz_t z)
{
    if (mpz_sgn(z) == 0)
        return 0;
    size_t bits = mpz_sizeinbase(z, 2);
    return (bits + 7) / 8;
}

size_t mf_mpz_packed_size(const mpz_t z)
{
    return MF_MPZ_HEADER_BYTES + mfz_mag_bytes(z);
}

static void mfz_write_header(unsigned char *h, int negative, uint64_t m)
{
    memcpy(h, mfz_magic, 4);
    h[4] = MF_MPZ_FORMAT_VERSION;
    h[5] = negative ? 1 : 0;
    h[6] = 0;
    for (int i = 0; i < 8; i++)
        h[8 + i] = (unsigned char)(m >> (8 * i));
    h[7] = mfz_check(h);
}

int mf_mpz_pack(const mpz_t z, void *buf, size_t cap, size_t *written)
{
    if (buf == NULL)
        return MF_EINVAL;
    size_t m = mfz_mag_bytes(z);
    size_t total = MF_MPZ_HEADER_BYTES + m;
    if (cap < total)
        return MF_E2BIG;
    unsigned char *out = buf;
    mfz_write_header(out, mpz_sgn(z) < 0, (uint64_t)m);
    if (m > 0) {
#if MFZ_LIMB_COPY
        memcpy(out + MF_MPZ_HEADER_BYTES, mpz_limbs_read(z), m);
#else
        size_t count = 0;
        mpz_export(out + MF_MPZ_HEADER_BYTES, &count, -1, 1, 0, 0, z);
        (void)count; /* == m */
#endif
    }
    if (written)
        *written = total;
    return MF_OK;
}

int mf_mpz_peek(const void *buf, size_t len, int *sign,
                const unsigned char **mag, uint64_t *mag_bytes, size_t *used)
{
    if (buf == NULL && len > 0)
        return MF_EINVAL;
    const unsigned char *in = buf;
    if (len < MF_MPZ_HEADER_BYTES)
        return MF_EPROTO;
    if (memcmp(in, mfz_magic, 4) != 0 || in[4] != MF_MPZ_FORMAT_VERSION ||
        in[5] > 1 || in[6] != 0 || in[7] != mfz_check(in))
        return MF_EPROTO;
    uint64_t m = 0;
    for (int i = 0; i < 8; i++)
        m |= (uint64_t)in[8 + i] << (8 * i);
    if (m > (uint64_t)(len - MF_MPZ_HEADER_BYTES))
        return MF_EPROTO; /* truncated */
    if (used == NULL && m != (uint64_t)(len - MF_MPZ_HEADER_BYTES))
        return MF_EPROTO; /* trailing garbage */
    const unsigned char *p = in + MF_MPZ_HEADER_BYTES;
    int negative = in[5] == 1;
    if (m == 0 && negative)
        return MF_EPROTO; /* "-0" is not canonical */
    if (m > 0 && p[m - 1] == 0)
        return MF_EPROTO; /* high zero byte: not canonical */
    /* GMP sizes are ints (limbs). */
    if ((m + MFZ_LIMB_BYTES - 1) / MFZ_LIMB_BYTES > (uint64_t)INT_MAX / 2)
        return MF_E2BIG;
    if (sign)
        *sign = m == 0 ? 0 : negative ? -1 : 1;
    if (mag)
        *mag = m == 0 ? NULL : p;
    if (mag_bytes)
        *mag_bytes = m;
    if (used)
        *used = MF_MPZ_HEADER_BYTES + (size_t)m;
    return MF_OK;
}

int mf_mpz_unpack(mpz_t z, const void *buf, size_t len, size_t *used)
{
    if (z == NULL)
        return MF_EINVAL;
    int sign = 0;
    const unsigned char *mag = NULL;
    uint64_t m = 0;
    size_t u = 0;
    int rc = mf_mpz_peek(buf, len, &sign, &mag, &m, used ? &u : NULL);
    if (rc != MF_OK)
        return rc;
    if (m == 0) {
        mpz_set_ui(z, 0);
    } else {
        uint64_t limbs = (m + MFZ_LIMB_BYTES - 1) / MFZ_LIMB_BYTES;
#if MFZ_LIMB_COPY
        mp_limb_t *d = mpz_limbs_write(z, (mp_size_t)limbs);
        d[limbs - 1] = 0; /* the copy may fill the top limb partly */
        memcpy(d, mag, (size_t)m);
        mpz_limbs_finish(z, sign < 0 ? -(mp_size_t)limbs : (mp_size_t)limbs);
#else
        (void)limbs;
        mpz_import(z, (size_t)m, -1, 1, 0, 0, mag);
        if (sign < 0)
            mpz_neg(z, z);
#endif
    }
    if (used)
        *used = u;
    return MF_OK;
}

int mf_mpz_view(mpz_t view, const void *buf, size_t len, size_t *used)
{
    if (view == NULL)
        return MF_EINVAL;
    int sign = 0;
    const unsigned char *mag = NULL;
    uint64_t m = 0;
    size_t u = 0;
    int rc = mf_mpz_peek(buf, len, &sign, &mag, &m, &u);
    if (rc != MF_OK)
        return rc;
    /* Without `used`, the buffer is the encoding plus its padding. */
    if (used == NULL && len != u && len != ((u + 7) & ~(size_t)7))
        return MF_EPROTO;
#if MFZ_LIMB_COPY
    static const mp_limb_t zero_limb = 0;
    if (m == 0) {
        mpz_roinit_n(view, &zero_limb, 0);
    } else {
        uint64_t limbs = (m + MFZ_LIMB_BYTES - 1) / MFZ_LIMB_BYTES;
        uint64_t room = (uint64_t)(len - MF_MPZ_HEADER_BYTES);
        if ((uintptr_t)mag % sizeof(mp_limb_t) != 0 ||
            limbs * MFZ_LIMB_BYTES > room)
            return MF_ESTATE;
        for (uint64_t i = m; i < limbs * MFZ_LIMB_BYTES; i++)
            if (mag[i] != 0)
                return MF_ESTATE;
        mpz_roinit_n(view, (const mp_limb_t *)(const void *)mag,
                     sign < 0 ? -(mp_size_t)limbs : (mp_size_t)limbs);
    }
    if (used)
        *used = u;
    return MF_OK;
#else
    (void)sign;
    (void)mag;
    (void)m;
    (void)u;
    return MF_ESTATE;
#endif
}

size_t mf_mpz_padded_size(const mpz_t z)
{
    size_t n = mf_mpz_packed_size(z);
    return (n + 7) & ~(size_t)7;
}

int mf_mpz_task_return(mf_task *task, const mpz_t z)
{
    if (task == NULL)
        return MF_EINVAL;
    size_t n = mf_mpz_packed_size(z);
    void *buf = NULL;
    int rc = mf_task_result_buffer(task, n, &buf);
    if (rc != MF_OK)
        return rc;
    return mf_mpz_pack(z, buf, n, NULL);
}

int mf_mpz_task_arg(const mf_task *task, mpz_t z)
{
    if (task == NULL)
        return MF_EINVAL;
    size_t len = 0;
    const void *arg = mf_task_arg(task, &len);
    return mf_mpz_unpack(z, arg, len, NULL);
}
