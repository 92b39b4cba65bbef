/* Unit tests: the function registry. */
#include "alloc.h"
#include "cu_main.h"
#include "mpifutures.h"
#include "registry.h"

#include <string.h>

static int fn_a(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

static int fn_b(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 1;
}

static void test_register_and_ids(void)
{
    mf_fn_id a = 0, b = 0;
    mf_registry_clear();
    CU_ASSERT_EQUAL(mf_register("alpha", fn_a, NULL, &a), MF_OK);
    CU_ASSERT_EQUAL(mf_register("beta", fn_b, (void *)&b, &b), MF_OK);
    CU_ASSERT_NOT_EQUAL(a, 0);
    CU_ASSERT_NOT_EQUAL(a, b);
    CU_ASSERT_EQUAL(a, mf_fn_id_of("alpha"));
    CU_ASSERT_EQUAL(b, mf_fn_id_of("beta"));
    CU_ASSERT_EQUAL(mf_fn_id_of(NULL), 0);
    /* id may be NULL */
    CU_ASSERT_EQUAL(mf_register("gamma", fn_a, NULL, NULL), MF_OK);
    mf_registry_clear();
}

static void test_ids_are_stable(void)
{
    /* Ids travel between ranks (and, with a journal, between runs), so
     * the hash must never change: these values pin it. */
    CU_ASSERT_EQUAL(mf_fn_id_of("factorial"), 0x120c1c037b2d9912ull);
    CU_ASSERT_EQUAL(mf_fn_id_of("a"), 0x02c0bdbf481420f8ull);
    CU_ASSERT_NOT_EQUAL(mf_fn_id_of("a"), mf_fn_id_of("b"));
    CU_ASSERT_NOT_EQUAL(mf_fn_id_of("ab"), mf_fn_id_of("ba"));
    /* Many similar names, no collisions. */
    enum { N = 5000 };
    static mf_fn_id ids[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "task%d", i);
        ids[i] = mf_fn_id_of(name);
        CU_ASSERT_NOT_EQUAL(ids[i], 0);
    }
    int dup = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++)
            dup += ids[i] == ids[j];
    CU_ASSERT_EQUAL(dup, 0);
}

static void test_order_independent(void)
{
    mf_reg_snap s1, s2;
    const char *names[] = {"one", "two", "three", "four", "five"};
    mf_registry_clear();
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(mf_register(names[i], fn_a, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__registry_snapshot(&s1), MF_OK);
    mf_registry_clear();
    for (int i = 4; i >= 0; i--)
        CU_ASSERT_EQUAL(mf_register(names[i], fn_a, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__registry_snapshot(&s2), MF_OK);
    CU_ASSERT_EQUAL_FATAL(s1.n, 5);
    CU_ASSERT_EQUAL_FATAL(s2.n, 5);
    for (size_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(s1.e[i].id, s2.e[i].id);
        CU_ASSERT_STRING_EQUAL(s1.e[i].name, s2.e[i].name);
        if (i)
            CU_ASSERT(s1.e[i - 1].id < s1.e[i].id);
    }
    for (int i = 0; i < 5; i++) {
        const mf_reg_entry *e = mf__snap_find(&s1, mf_fn_id_of(names[i]));
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_STRING_EQUAL(e->name, names[i]);
        CU_ASSERT_PTR_NOT_NULL(mf__snap_find_name(&s1, names[i]));
    }
    CU_ASSERT_PTR_NULL(mf__snap_find(&s1, mf_fn_id_of("six")));
    CU_ASSERT_PTR_NULL(mf__snap_find_name(&s1, "six"));
    /* The snapshot does not change when the registry does. */
    mf_registry_clear();
    CU_ASSERT_EQUAL(s1.n, 5);
    CU_ASSERT_PTR_NOT_NULL(mf__snap_find_name(&s1, "three"));
    mf__registry_snap_free(&s1);
    mf__registry_snap_free(&s2);
}

static void test_errors(void)
{
    char longname[300];
    mf_registry_clear();
    CU_ASSERT_EQUAL(mf_register("x", fn_a, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL(mf_register("x", fn_b, NULL, NULL), MF_EEXIST);
    CU_ASSERT(strstr(mf_last_error(), "'x'") != NULL);
    CU_ASSERT_EQUAL(mf_register(NULL, fn_a, NULL, NULL), MF_EINVAL);
    CU_ASSERT_EQUAL(mf_register("", fn_a, NULL, NULL), MF_EINVAL);
    CU_ASSERT_EQUAL(mf_register("y", NULL, NULL, NULL), MF_EINVAL);
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CU_ASSERT_EQUAL(mf_register(longname, fn_a, NULL, NULL), MF_EINVAL);
    longname[255] = '\0';
    CU_ASSERT_EQUAL(mf_register(longname, fn_a, NULL, NULL), MF_OK);
    /* The failed calls left nothing behind. */
    mf_reg_snap s;
    CU_ASSERT_EQUAL_FATAL(mf__registry_snapshot(&s), MF_OK);
    CU_ASSERT_EQUAL(s.n, 2);
    mf__registry_snap_free(&s);
    mf_registry_clear();
}

static void test_out_of_memory(void)
{
    /* Fail each allocation in turn: every outcome is OK or ENOMEM, and
     * the registry stays consistent. */
    for (unsigned long n = 1; n < 8; n++) {
        mf_registry_clear();
        CU_ASSERT_EQUAL(mf_register("first", fn_a, NULL, NULL), MF_OK);
        mf__alloc_fail_after(n);
        int rc = mf_register("second", fn_a, NULL, NULL);
        mf__alloc_fail_after(0);
        CU_ASSERT(rc == MF_OK || rc == MF_ENOMEM);
        mf_reg_snap s;
        CU_ASSERT_EQUAL_FATAL(mf__registry_snapshot(&s), MF_OK);
        CU_ASSERT_EQUAL(s.n, rc == MF_OK ? 2u : 1u);
        CU_ASSERT_PTR_NOT_NULL(mf__snap_find_name(&s, "first"));
        mf__registry_snap_free(&s);
        mf__alloc_fail_after(n);
        rc = mf__registry_snapshot(&s);
        mf__alloc_fail_after(0);
        CU_ASSERT(rc == MF_OK || rc == MF_ENOMEM);
        if (rc == MF_OK)
            mf__registry_snap_free(&s);
    }
    mf_registry_clear();
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("registry", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_register_and_ids);
    MF_ADD_TEST(s, test_ids_are_stable);
    MF_ADD_TEST(s, test_order_independent);
    MF_ADD_TEST(s, test_errors);
    MF_ADD_TEST(s, test_out_of_memory);
    return 0;
}

int main(void)
{
    return cu_run();
}
