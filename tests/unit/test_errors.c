/* Unit tests: the error table, mf_strerror, mf_errname, mf_last_error,
 * version. */
#include "cu_main.h"
#include "errors.h"
#include "mpifutures.h"

#include <string.h>

static void test_every_code_named(void)
{
    for (int e = 0; e < MF_ERR_COUNT_; e++) {
        const char *n = mf_errname(e), *m = mf_strerror(e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT_NSTRING_EQUAL(n, "MF_", 3);
        CU_ASSERT_STRING_NOT_EQUAL(n, "MF_E?");
        CU_ASSERT_STRING_NOT_EQUAL(m, "unknown error");
        CU_ASSERT(strlen(m) > 3);
        for (int f = 0; f < e; f++) {
            CU_ASSERT_STRING_NOT_EQUAL(n, mf_errname(f));
            CU_ASSERT_STRING_NOT_EQUAL(m, mf_strerror(f));
        }
    }
}

static void test_known_codes(void)
{
    CU_ASSERT_EQUAL(MF_OK, 0);
    CU_ASSERT_STRING_EQUAL(mf_errname(MF_OK), "MF_OK");
    CU_ASSERT_STRING_EQUAL(mf_errname(MF_ETIMEDOUT), "MF_ETIMEDOUT");
    CU_ASSERT_STRING_EQUAL(mf_errname(MF_ECANCELLED), "MF_ECANCELLED");
    CU_ASSERT_STRING_EQUAL(mf_errname(MF_EBROKEN), "MF_EBROKEN");
    CU_ASSERT_STRING_EQUAL(mf_strerror(MF_OK), "success");
}

static void test_unknown_codes(void)
{
    CU_ASSERT_STRING_EQUAL(mf_strerror(-1), "unknown error");
    CU_ASSERT_STRING_EQUAL(mf_strerror(MF_ERR_COUNT_), "unknown error");
    CU_ASSERT_STRING_EQUAL(mf_strerror(100000), "unknown error");
    CU_ASSERT_STRING_EQUAL(mf_errname(-7), "MF_E?");
    CU_ASSERT_STRING_EQUAL(mf_errname(MF_ERR_COUNT_), "MF_E?");
}

static void test_last_error(void)
{
    int rc = mf__fail(MF_EINVAL, "detail %d", 42);
    CU_ASSERT_EQUAL(rc, MF_EINVAL);
    CU_ASSERT_STRING_EQUAL(mf_last_error(), "MF_EINVAL: detail 42");
    mf__clear_error();
    CU_ASSERT_STRING_EQUAL(mf_last_error(), "");
    /* A public call that fails sets it. */
    CU_ASSERT_EQUAL(mf_register(NULL, NULL, NULL, NULL), MF_EINVAL);
    CU_ASSERT(strstr(mf_last_error(), "name") != NULL);
    /* Long details are truncated, not overflowed. */
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mf__fail(MF_EPROTO, "%s", big);
    CU_ASSERT(strlen(mf_last_error()) < 1024);
}

static void test_version(void)
{
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", MF_VERSION_MAJOR,
             MF_VERSION_MINOR, MF_VERSION_PATCH);
    CU_ASSERT_STRING_EQUAL(mf_version(), want);
    CU_ASSERT_STRING_EQUAL(MF_VERSION_STRING, want);
}

/* mf_launched(): each launcher's mark alone says "launched"; a Slurm
 * batch script (SLURM_PROCID without a step) and a bare process do not. */
static void test_launched(void)
{
    static const char *const marks[] = {"OMPI_COMM_WORLD_SIZE",
                                        "OMPI_COMM_WORLD_RANK",
                                        "PMI_RANK",
                                        "PMI_SIZE",
                                        "PMI_FD",
                                        "PMIX_RANK",
                                        "PMIX_NAMESPACE",
                                        "MPI_LOCALNRANKS",
                                        "HYDRA_CONTROL_FD",
                                        "SLURM_STEP_ID",
                                        "SLURM_PROCID"};
    const size_t n = sizeof marks / sizeof marks[0];
    for (size_t i = 0; i < n; i++)
        unsetenv(marks[i]);
    CU_ASSERT_EQUAL(mf_launched(), 0);
    for (size_t i = 0; i + 2 < n; i++) { /* all but the Slurm pair */
        setenv(marks[i], "2", 1);
        CU_ASSERT_EQUAL(mf_launched(), 1);
        unsetenv(marks[i]);
    }
    setenv("SLURM_PROCID", "0", 1);
    CU_ASSERT_EQUAL(mf_launched(), 0); /* the batch script itself */
    setenv("SLURM_STEP_ID", "0", 1);
    CU_ASSERT_EQUAL(mf_launched(), 1); /* a task of srun */
    unsetenv("SLURM_PROCID");
    unsetenv("SLURM_STEP_ID");
    CU_ASSERT_EQUAL(mf_launched(), 0);
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("errors", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_every_code_named);
    MF_ADD_TEST(s, test_known_codes);
    MF_ADD_TEST(s, test_unknown_codes);
    MF_ADD_TEST(s, test_last_error);
    MF_ADD_TEST(s, test_version);
    MF_ADD_TEST(s, test_launched);
    return 0;
}

int main(void)
{
    return cu_run();
}
