/*
 * fuzz_gmp.c — the GMP helpers' decoders: mf_mpz_peek, mf_mpz_unpack and
 * mf_mpz_view (include/mpifutures/gmp.h), against mf_mpz_pack.
 *
 * Input: bytes that may hold one encoding (exact mode, `used` NULL), an
 * encoding followed by more bytes (`used` mode), or several encodings one
 * after another. Checks:
 *  - return codes are MF_OK, MF_EPROTO or MF_E2BIG (mf_mpz_view also
 *    MF_ESTATE); peek and unpack agree; on error `z` and `*used` are
 *    unchanged;
 *  - on MF_OK: the magnitude pointer is inside the input right after the
 *    16-byte header (NULL for 0), `used` = 16 + magnitude bytes <= input,
 *    the value's sign and byte length match, and mf_mpz_pack() of the
 *    value writes exactly the bytes that were read (one encoding per
 *    value), mf_mpz_packed_size() and mf_mpz_padded_size() agree, and
 *    packing into one byte too few is MF_E2BIG with nothing written;
 *  - exact mode accepts exactly when `used` mode consumes everything;
 *  - mf_mpz_view: MF_OK exactly when the header's conditions hold (value
 *    0, or on a little-endian host without nails: limb-aligned magnitude,
 *    zero bytes up to the next limb boundary inside the buffer; in exact
 *    mode the buffer is the encoding or the encoding and its padding),
 *    else MF_ESTATE for a valid encoding; a view equals the unpacked value;
 *  - the same at an odd address (a copy one byte off);
 *  - a value packed with zero padding at an aligned address can be viewed;
 *  - walking consecutive padded encodings the way mf-factorial reads its
 *    task arguments (view, else unpack; advance to the next multiple of 8)
 *    always makes progress and stays inside the input.
 */
#include "fuzz_common.h"

#include <mpifutures/gmp.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&           \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && GMP_NAIL_BITS == 0
#define FZ_VIEWABLE 1
#else
#define FZ_VIEWABLE 0
#endif
#define FZ_LIMB ((size_t)(GMP_NUMB_BITS / 8))

int fz_verdict = -1;

static void check_rc(int rc, const char *what)
{
    FZ_CHECK(rc == MF_OK || rc == MF_EPROTO || rc == MF_E2BIG,
             "%s returned %d (%s)", what, rc, mf_errname(rc));
}

/* The decoded value `z` (sign/mag/m from peek) of the encoding at buf,
 * `used` bytes long: check it and pack it again. */
static void check_value(const unsigned char *buf, size_t used, const mpz_t z,
                        int sign, const unsigned char *mag, uint64_t m)
{
    FZ_CHECK(used >= MF_MPZ_HEADER_BYTES && used - MF_MPZ_HEADER_BYTES == m,
             "used %zu for %llu magnitude bytes", used,
             (unsigned long long)m);
    FZ_CHECK(sign >= -1 && sign <= 1 && mpz_sgn(z) == sign,
             "sign %d, value's sign %d", sign, mpz_sgn(z));
    if (m == 0) {
        FZ_CHECK(mag == NULL && sign == 0, "zero with mag %p sign %d",
                 (const void *)mag, sign);
    } else {
        FZ_CHECK(mag == buf + MF_MPZ_HEADER_BYTES,
                 "magnitude at %p, expected %p", (const void *)mag,
                 (const void *)(buf + MF_MPZ_HEADER_BYTES));
        FZ_CHECK(fz_inside(mag, (size_t)m, buf, used),
                 "magnitude outside the input");
        FZ_CHECK(mpz_sizeinbase(z, 256) == m, "%zu bytes, header says %llu",
                 mpz_sizeinbase(z, 256), (unsigned long long)m);
    }
    FZ_CHECK(mf_mpz_packed_size(z) == used, "packed_size %zu, used %zu",
             mf_mpz_packed_size(z), used);
    FZ_CHECK(mf_mpz_padded_size(z) == fz_pad8(used),
             "padded_size %zu for %zu", mf_mpz_padded_size(z), used);
    unsigned char *out = malloc(used + 1);
    FZ_CHECK(out != NULL, "out of memory");
    memset(out, 0xee, used + 1);
    size_t w = 0;
    int rc = mf_mpz_pack(z, out, used - 1, &w);
    FZ_CHECK(rc == MF_E2BIG && w == 0, "pack into %zu bytes: %s", used - 1,
             mf_errname(rc));
    for (size_t i = 0; i < used + 1; i++)
        FZ_CHECK(out[i] == 0xee, "pack into too small a buffer wrote");
    rc = mf_mpz_pack(z, out, used + 1, &w);
    FZ_CHECK(rc == MF_OK && w == used, "pack: %s, %zu bytes of %zu",
             mf_errname(rc), w, used);
    FZ_CHECK(memcmp(out, buf, used) == 0,
             "re-packed value differs from the input (two encodings of "
             "one value)");
    FZ_CHECK(out[used] == 0xee, "pack wrote past its size");
    free(out);
}

/* What mf_mpz_view must return for the encoding at buf, given that
 * mf_mpz_peek accepted it with `used` bytes and magnitude (mag, m). */
static int view_model(const unsigned char *buf, size_t len, int exact,
                      const unsigned char *mag, uint64_t m, size_t used)
{
    if (exact && len != used && len != fz_pad8(used))
        return MF_EPROTO;
    if (!FZ_VIEWABLE)
        return MF_ESTATE;
    if (m == 0)
        return MF_OK;
    size_t limbs = ((size_t)m + FZ_LIMB - 1) / FZ_LIMB;
    if ((uintptr_t)mag % sizeof(mp_limb_t) != 0 ||
        limbs * FZ_LIMB > len - MF_MPZ_HEADER_BYTES)
        return MF_ESTATE;
    for (size_t i = (size_t)m; i < limbs * FZ_LIMB; i++)
        if (mag[i] != 0)
            return MF_ESTATE;
    (void)buf;
    return MF_OK;
}

/* All the decoders on buf[0..len). */
static void decode_all(const unsigned char *buf, size_t len)
{
    int sign = 7, sign2 = 7;
    const unsigned char *mag = (const unsigned char *)1, *mag2 = mag;
    uint64_t m = 7, m2 = 7;
    size_t used = 777, used2 = 777;
    mpz_t z, z2, v = {{0, 0, NULL}}; /* v: a view, never initialised */
    mpz_init_set_si(z, -12345);
    mpz_init_set_si(z2, 54321);

    /* Exact mode. */
    int rp = mf_mpz_peek(buf, len, &sign, &mag, &m, NULL);
    int ru = mf_mpz_unpack(z, buf, len, NULL);
    check_rc(rp, "mf_mpz_peek");
    FZ_CHECK(rp == ru, "peek %s, unpack %s", mf_errname(rp), mf_errname(ru));
    if (rp == MF_OK) {
        fz_verdict = 1;
        FZ_CHECK(m == len - MF_MPZ_HEADER_BYTES,
                 "exact mode: %llu magnitude bytes in %zu",
                 (unsigned long long)m, len);
        check_value(buf, len, z, sign, mag, m);
    } else {
        FZ_CHECK(mpz_cmp_si(z, -12345) == 0, "unpack changed z on error");
        FZ_CHECK(sign == 7 && m == 7 && mag == (const unsigned char *)1,
                 "peek wrote on error");
    }

    /* `used` mode. */
    int rp2 = mf_mpz_peek(buf, len, &sign2, &mag2, &m2, &used);
    int ru2 = mf_mpz_unpack(z2, buf, len, &used2);
    check_rc(rp2, "mf_mpz_peek(used)");
    FZ_CHECK(rp2 == ru2, "peek(used) %s, unpack(used) %s", mf_errname(rp2),
             mf_errname(ru2));
    if (rp2 == MF_OK) {
        FZ_CHECK(used == used2 && used <= len, "used %zu / %zu of %zu", used,
                 used2, len);
        check_value(buf, used, z2, sign2, mag2, m2);
        FZ_CHECK((rp == MF_OK) == (used == len),
                 "exact mode %s but used mode consumed %zu of %zu",
                 mf_errname(rp), used, len);
        if (rp == MF_OK)
            FZ_CHECK(mpz_cmp(z, z2) == 0, "modes disagree on the value");
    } else {
        FZ_CHECK(rp != MF_OK, "exact mode accepts what used mode refuses");
        FZ_CHECK(used == 777 && used2 == 777, "used written on error");
        FZ_CHECK(mpz_cmp_si(z2, 54321) == 0, "unpack changed z on error");
    }

    /* Views, both modes. */
    for (int exact = 0; exact <= 1; exact++) {
        size_t vu = 999;
        int rv = mf_mpz_view(v, buf, len, exact ? NULL : &vu);
        int want =
            rp2 != MF_OK ? rp2 : view_model(buf, len, exact, mag2, m2, used);
        FZ_CHECK(rv == want, "mf_mpz_view(%s): %s, expected %s",
                 exact ? "exact" : "used", mf_errname(rv), mf_errname(want));
        if (rv == MF_OK) {
            FZ_CHECK(mpz_cmp(v, z2) == 0, "view differs from the value");
            FZ_CHECK(exact || vu == used, "view used %zu, expected %zu", vu,
                     used);
        } else {
            FZ_CHECK(vu == 999, "view wrote used on error");
        }
    }

    /* A padded copy at an aligned address can always be viewed. */
    if (rp2 == MF_OK) {
        size_t pad = mf_mpz_padded_size(z2);
        unsigned char *al = malloc(pad);
        FZ_CHECK(al != NULL, "out of memory");
        memset(al, 0, pad);
        FZ_CHECK(mf_mpz_pack(z2, al, pad, NULL) == MF_OK, "pack");
        int rv = mf_mpz_view(v, al, pad, NULL);
        FZ_CHECK(rv == (FZ_VIEWABLE ? MF_OK : MF_ESTATE),
                 "view of a padded, aligned encoding: %s", mf_errname(rv));
        if (rv == MF_OK)
            FZ_CHECK(mpz_cmp(v, z2) == 0, "padded view differs");
        free(al);
    }
    mpz_clears(z, z2, NULL);
}

/* Consecutive padded encodings, read as mf-factorial's task_mul reads
 * its argument (get_mpz in src/mf-factorial/tasks.c). */
static void walk_padded(const unsigned char *buf, size_t len)
{
    size_t off = 0;
    mpz_t v = {{0, 0, NULL}}, tmp; /* v: a view */
    mpz_init(tmp);
    for (int k = 0; k < 64 && off < len; k++) {
        size_t used = 0;
        int rc = mf_mpz_view(v, buf + off, len - off, &used);
        if (rc == MF_ESTATE)
            rc = mf_mpz_unpack(tmp, buf + off, len - off, &used);
        if (rc != MF_OK)
            break;
        FZ_CHECK(used >= MF_MPZ_HEADER_BYTES && used <= len - off,
                 "used %zu at %zu of %zu", used, off, len);
        used = fz_pad8(used);
        off = used > len - off ? len : off + used;
    }
    mpz_clear(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        mpz_t z;
        once = 1;
        mpz_init(z);
        FZ_CHECK(mf_mpz_unpack(z, NULL, 5, NULL) == MF_EINVAL, "NULL buf");
        FZ_CHECK(mf_mpz_peek(NULL, 0, NULL, NULL, NULL, NULL) == MF_EPROTO,
                 "NULL, 0");
        FZ_CHECK(mf_mpz_pack(z, NULL, 100, NULL) == MF_EINVAL, "pack NULL");
        mpz_clear(z);
    }
    fz_verdict = 0;
    decode_all(data, size);
    /* One byte off the input's (malloc) alignment. */
    unsigned char *odd = malloc(size + 1);
    FZ_CHECK(odd != NULL, "out of memory");
    memcpy(odd + 1, data, size);
    decode_all(odd + 1, size);
    free(odd);
    walk_padded(data, size);
    return 0;
}
