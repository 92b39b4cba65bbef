/* cu_main.h — a shared main() for the CUnit unit-test programs: runs the
 * suites added by add_suites() in basic mode and exits non-zero on any
 * failure (so CTest sees it). */
#ifndef MF_CU_MAIN_H
#define MF_CU_MAIN_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

#define MF_ADD_TEST(suite, fn)                                               \
    do {                                                                     \
        if (!CU_add_test((suite), #fn, (fn)))                                \
            return -1;                                                       \
    } while (0)

static int add_suites(void);

static int cu_run(void)
{
    unsigned fails;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    if (add_suites() != 0) {
        fprintf(stderr, "cannot build the test registry: %s\n",
                CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    if (CU_get_number_of_tests_run() == 0)
        fails++; /* a run that tests nothing is a failure */
    CU_cleanup_registry();
    return fails ? 1 : 0;
}

#endif
