/* Unit tests of clock.c: oversubscription from the ranks' affinities, and
 * the switch of Open MPI's yield-when-idle around the library's polling. */
#include "clock.h"
#include "cu_main.h"
#include "mpifutures.h"

#include <dlfcn.h>
#include <string.h>

static cpu_set_t set_of(int a, int b)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    if (a >= 0)
        CPU_SET(a, &s);
    if (b >= 0)
        CPU_SET(b, &s);
    return s;
}

static void test_oversubscribed(void)
{
    cpu_set_t s[3];
    /* One rank per core, bound: each sees one CPU, none shared. */
    s[0] = set_of(0, -1);
    s[1] = set_of(1, -1);
    CU_ASSERT_FALSE(mf__oversubscribed(s, 2));
    /* Two unbound ranks on two cores. */
    s[0] = s[1] = set_of(0, 1);
    CU_ASSERT_FALSE(mf__oversubscribed(s, 2));
    /* Three unbound ranks on two cores. */
    s[2] = set_of(0, 1);
    CU_ASSERT_TRUE(mf__oversubscribed(s, 3));
    /* Two ranks bound to the same core. */
    s[0] = s[1] = set_of(0, -1);
    CU_ASSERT_TRUE(mf__oversubscribed(s, 2));
    /* Bound ranks sharing one of two cores. */
    s[0] = set_of(0, -1);
    s[1] = set_of(1, -1);
    s[2] = set_of(1, -1);
    CU_ASSERT_TRUE(mf__oversubscribed(s, 3));
    CU_ASSERT_FALSE(mf__oversubscribed(s, 1));
    CU_ASSERT_FALSE(mf__oversubscribed(s, 0));
}

static void test_cpuset_has_this_cpu(void)
{
    cpu_set_t s;
    mf__cpuset(&s);
    CU_ASSERT(CPU_COUNT(&s) >= 1);
    int c = sched_getcpu();
    if (c >= 0)
        CU_ASSERT(CPU_ISSET(c, &s));
}

/* Read (and keep) Open MPI's switch; -1 if this MPI has none. */
static int yield_now(bool (*fn)(bool))
{
    bool old = fn(false);
    (void)fn(old);
    return old;
}

static void test_mpi_quiet(void)
{
    int inited = 0;
    /* (Also makes this program link the MPI library, whose switch the
     * library looks up at run time.) */
    MPI_Initialized(&inited);
    CU_ASSERT_FALSE(inited);
    bool (*fn)(bool) = NULL;
    void *p = dlsym(RTLD_DEFAULT, "opal_progress_set_yield_when_idle");
    memcpy(&fn, &p, sizeof p);
    mf__mpi_quiet_setup();
    if (!fn) {
        /* Another MPI: the calls must do nothing, and not crash. */
        mf__mpi_quiet_enter();
        mf__mpi_quiet_leave();
        printf("(no Open MPI yield switch: only the no-op checked) ");
        CU_PASS("no switch");
        return;
    }
    bool orig = fn(true);
    /* Off while polling, nested calls included; back on after. */
    mf__mpi_quiet_enter();
    CU_ASSERT_EQUAL(yield_now(fn), 0);
    mf__mpi_quiet_enter();
    mf__mpi_quiet_leave();
    CU_ASSERT_EQUAL(yield_now(fn), 0);
    /* Around a task: the program's value, then off again. */
    unsigned d = mf__mpi_quiet_suspend();
    CU_ASSERT_EQUAL(d, 1);
    CU_ASSERT_EQUAL(yield_now(fn), 1);
    mf__mpi_quiet_resume(d);
    CU_ASSERT_EQUAL(yield_now(fn), 0);
    mf__mpi_quiet_leave();
    CU_ASSERT_EQUAL(yield_now(fn), 1);
    /* A program that keeps it off gets it off. */
    (void)fn(false);
    mf__mpi_quiet_enter();
    mf__mpi_quiet_leave();
    CU_ASSERT_EQUAL(yield_now(fn), 0);
    /* An extra leave is harmless. */
    mf__mpi_quiet_leave();
    CU_ASSERT_EQUAL(yield_now(fn), 0);
    (void)fn(orig);
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("clock", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_oversubscribed);
    MF_ADD_TEST(s, test_cpuset_has_this_cpu);
    MF_ADD_TEST(s, test_mpi_quiet);
    return 0;
}

int main(void)
{
    return cu_run();
}
