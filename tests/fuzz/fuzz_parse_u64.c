/*
 * fuzz_parse_u64.c — mf-factorial's number parser, mff_parse_u64()
 * (src/factorial_math.h), which reads the integers of --range and of the
 * lines of a --from file.
 *
 * Input: the bytes up to the first NUL, as a C string. Checks, against a
 * reference written from the header's description (optional blanks, one
 * or more decimal digits, optional trailing blanks and line ends, value
 * at most UINT64_MAX):
 *  - the return value is 0 or -1 and agrees with the reference;
 *  - on 0 the value agrees and `*out` is written; on -1 it is untouched;
 *  - round trip: the value printed in decimal parses to itself.
 */
#include "factorial_math.h"
#include "fuzz_common.h"

#include <inttypes.h>

int fz_verdict = -1;

static int reference(const char *s, uint64_t *out)
{
    size_t i = 0, digits = 0;
    uint64_t v = 0;
    int overflow = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    while (s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, d, &v))
            overflow = 1;
        digits++;
        i++;
    }
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
        i++;
    if (digits == 0 || overflow || s[i] != '\0')
        return -1;
    *out = v;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FZ_CHECK(s != NULL, "out of memory");
    memcpy(s, data, size);
    s[size] = '\0';
    uint64_t got = 0x5a5a5a5a5a5a5a5aull, ref = 0;
    int rc = mff_parse_u64(s, &got);
    int rr = reference(s, &ref);
    FZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    fz_verdict = rc == 0;
    FZ_CHECK(rc == rr, "returned %d, reference %d for '%s'", rc, rr, s);
    if (rc == 0) {
        FZ_CHECK(got == ref, "value %" PRIu64 ", reference %" PRIu64, got,
                 ref);
        char buf[32];
        uint64_t back = 0;
        snprintf(buf, sizeof buf, "%" PRIu64, got);
        FZ_CHECK(mff_parse_u64(buf, &back) == 0 && back == got,
                 "'%s' does not parse back", buf);
    } else {
        FZ_CHECK(got == 0x5a5a5a5a5a5a5a5aull, "*out written on failure");
    }
    FZ_CHECK(mff_parse_u64(NULL, &got) == -1, "NULL accepted");
    free(s);
    return 0;
}
