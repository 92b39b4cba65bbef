/*
 * Multi-rank test of the GMP helpers through a real executor: values go to
 * the workers as task arguments (mf_mpz_task_arg) and come back through the
 * zero-copy result path (mf_mpz_task_return); corrupted results and
 * arguments are rejected with MF_EPROTO, not a crash. CUnit runs on the
 * root; the exit status of every rank is the root's failure count.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpifutures.h>

#include "mpifutures/gmp.h"

static mf_fn_id fn_neg3, fn_garbage, fn_fac;
static mf_executor *ex;

/* Worker: returns -3 * arg. */
static int task_neg3(mf_task *t, void *ud)
{
    (void)ud;
    mpz_t z;
    mpz_init(z);
    int rc = mf_mpz_task_arg(t, z);
    if (rc != MF_OK) {
        mpz_clear(z);
        return mf_task_fail(t, "bad mpz argument: %s", mf_errname(rc));
    }
    mpz_mul_si(z, z, -3);
    rc = mf_mpz_task_return(t, z);
    mpz_clear(z);
    return rc == MF_OK ? 0 : mf_task_fail(t, "return: %s", mf_errname(rc));
}

/* Worker: returns the encoding of 12345 cut or damaged as the arg says. */
static int task_garbage(mf_task *t, void *ud)
{
    (void)ud;
    size_t len;
    const unsigned char *a = mf_task_arg(t, &len);
    mpz_t z;
    mpz_init_set_ui(z, 12345);
    unsigned char buf[64];
    size_t n = 0;
    mf_mpz_pack(z, buf, sizeof buf, &n);
    mpz_clear(z);
    if (len >= 1 && a[0] == 1)
        n -= 1; /* truncated */
    else if (len >= 1 && a[0] == 2)
        buf[0] = 'X'; /* wrong magic */
    else if (len >= 1 && a[0] == 3)
        buf[9] ^= 1; /* length changed: check byte mismatch */
    return mf_task_return(t, buf, n);
}

/* Worker: returns n! for an 8-byte n. */
static int task_fac(mf_task *t, void *ud)
{
    (void)ud;
    size_t len;
    const unsigned char *a = mf_task_arg(t, &len);
    if (len != 8)
        return mf_task_fail(t, "bad argument");
    unsigned long n = 0;
    for (int i = 0; i < 8; i++)
        n |= (unsigned long)a[i] << (8 * i);
    mpz_t z;
    mpz_init(z);
    mpz_fac_ui(z, n);
    int rc = mf_mpz_task_return(t, z);
    mpz_clear(z);
    return rc == MF_OK ? 0 : mf_task_fail(t, "return: %s", mf_errname(rc));
}

static void roundtrip_through_worker(const mpz_t v)
{
    size_t len = mf_mpz_packed_size(v);
    unsigned char *b = malloc(len);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_EQUAL(mf_mpz_pack(v, b, len, NULL), MF_OK);
    mf_future f;
    CU_ASSERT_EQUAL_FATAL(mf_submit(ex, fn_neg3, b, len, &f), MF_OK);
    free(b);
    const void *data;
    size_t dlen;
    CU_ASSERT_EQUAL(mf_future_result(f, MF_FOREVER, &data, &dlen), MF_OK);
    mpz_t got, want;
    mpz_init(got);
    mpz_init(want);
    mpz_mul_si(want, v, -3);
    CU_ASSERT_EQUAL(mf_mpz_unpack(got, data, dlen, NULL), MF_OK);
    CU_ASSERT_EQUAL(mpz_cmp(got, want), 0);
    mpz_clears(got, want, NULL);
    mf_future_release(f);
}

static void test_values_through_workers(void)
{
    mpz_t v;
    mpz_init(v);
    long small[] = {0, 1, -1, 255, -256, 1L << 40};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        mpz_set_si(v, small[i]);
        roundtrip_through_worker(v);
    }
    mpz_fac_ui(v, 200000); /* ~400 KB */
    roundtrip_through_worker(v);
    mpz_neg(v, v);
    roundtrip_through_worker(v);
    mpz_clear(v);
}

static void test_factorials_zero_copy(void)
{
    /* Many at once, so several workers answer. */
    enum { N = 40 };
    mf_future f[N];
    for (int i = 0; i < N; i++) {
        unsigned char a[8];
        unsigned long n = (unsigned long)i * 997;
        for (int k = 0; k < 8; k++)
            a[k] = (unsigned char)(n >> (8 * k));
        CU_ASSERT_EQUAL_FATAL(mf_submit(ex, fn_fac, a, 8, &f[i]), MF_OK);
    }
    mpz_t got, want;
    mpz_inits(got, want, NULL);
    for (int i = 0; i < N; i++) {
        const void *data;
        size_t len;
        CU_ASSERT_EQUAL(mf_future_result(f[i], MF_FOREVER, &data, &len),
                        MF_OK);
        CU_ASSERT_EQUAL(mf_mpz_unpack(got, data, len, NULL), MF_OK);
        mpz_fac_ui(want, (unsigned long)i * 997);
        CU_ASSERT_EQUAL(mpz_cmp(got, want), 0);
        mf_future_release(f[i]);
    }
    mpz_clears(got, want, NULL);
}

static void test_bad_results_rejected(void)
{
    mpz_t z;
    mpz_init_set_ui(z, 99);
    for (unsigned char kind = 0; kind <= 3; kind++) {
        mf_future f;
        CU_ASSERT_EQUAL_FATAL(mf_submit(ex, fn_garbage, &kind, 1, &f), MF_OK);
        const void *data;
        size_t len;
        CU_ASSERT_EQUAL(mf_future_result(f, MF_FOREVER, &data, &len), MF_OK);
        int rc = mf_mpz_unpack(z, data, len, NULL);
        if (kind == 0) {
            CU_ASSERT_EQUAL(rc, MF_OK);
            CU_ASSERT_EQUAL(mpz_cmp_ui(z, 12345), 0);
        } else {
            CU_ASSERT_EQUAL(rc, MF_EPROTO);
        }
        mf_future_release(f);
    }
    mpz_clear(z);
}

static void test_bad_argument_fails_task(void)
{
    const char junk[] = "not an mpz";
    mf_future f;
    CU_ASSERT_EQUAL_FATAL(mf_submit(ex, fn_neg3, junk, sizeof junk, &f),
                          MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(f, MF_FOREVER, NULL, NULL), MF_ETASK);
    const mf_task_error *e = NULL;
    CU_ASSERT_EQUAL(mf_future_error(f, MF_FOREVER, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL(e);
    if (e)
        CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "MF_EPROTO"));
    mf_future_release(f);
}

int main(int argc, char **argv)
{
    if (mf_init(&argc, &argv, NULL) != MF_OK)
        return 2;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (mf_register("gmp_test.neg3", task_neg3, NULL, &fn_neg3) != MF_OK ||
        mf_register("gmp_test.garbage", task_garbage, NULL, &fn_garbage) !=
            MF_OK ||
        mf_register("gmp_test.fac", task_fac, NULL, &fn_fac) != MF_OK)
        MPI_Abort(MPI_COMM_WORLD, 2);
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    int failed = rc != MF_OK;
    if (rc != MF_OK)
        fprintf(stderr, "rank %d: open: %s\n", rank, mf_last_error());
    if (rc == MF_OK && ex) {
        CU_initialize_registry();
        CU_pSuite s = CU_add_suite("gmp_helpers_mpi", NULL, NULL);
        CU_add_test(s, "values_through_workers", test_values_through_workers);
        CU_add_test(s, "factorials_zero_copy", test_factorials_zero_copy);
        CU_add_test(s, "bad_results_rejected", test_bad_results_rejected);
        CU_add_test(s, "bad_argument_fails_task",
                    test_bad_argument_fails_task);
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
        failed = (int)(CU_get_number_of_failures() +
                       CU_get_number_of_tests_failed());
        CU_cleanup_registry();
        mf_executor_close(ex);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    mf_finalize();
    return failed ? 1 : 0;
}
