/* Unit tests of shm.c, the shared regions of a process pool: the ring
 * allocator (order, wrap, full, out-of-order release), the checks a
 * receiver makes on a reference, the release of blocks held by a dead
 * worker, retiring a region whose blocks are still held, and a release
 * made by another process (the busy word is shared, the ring is not). */
#include "cu_main.h"
#include "shm.h"

#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION ((size_t)64 << 10) /* 64 KiB: 4 blocks of 16000 fit */

static void test_alloc_release_order(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 16000);
    unsigned char *b = mf__shm_alloc(r, 16000);
    unsigned char *c = mf__shm_alloc(r, 16000);
    unsigned char *d = mf__shm_alloc(r, 16000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL((uintptr_t)a % 16, 0);
    CU_ASSERT(b > a && c > b && d > c);
    memset(a, 1, 16000);
    memset(d, 4, 16000);
    CU_ASSERT_EQUAL(a[15999], 1); /* neighbours untouched */
    /* Full: nothing more, not even a small block. */
    CU_ASSERT_PTR_NULL(mf__shm_alloc(r, 16000));
    /* Released out of order: b's room is not reused while a (older)
     * is busy. */
    mf__shm_release(b);
    CU_ASSERT_PTR_NULL(mf__shm_alloc(r, 16000));
    /* a goes too: a and b come back; the next block wraps to the start. */
    mf__shm_release(a);
    unsigned char *e = mf__shm_alloc(r, 30000);
    CU_ASSERT_PTR_EQUAL(e, a);
    CU_ASSERT_PTR_NULL(mf__shm_alloc(r, 16000));
    mf__shm_release(c);
    mf__shm_release(d);
    mf__shm_release(e);
    /* Empty again: the ring starts over at its (warm) beginning. */
    unsigned char *f = mf__shm_alloc(r, 100);
    CU_ASSERT_PTR_EQUAL(f, a);
    mf__shm_release(f);
    /* Too big for the region, and empty: NULL, never a partial block. */
    CU_ASSERT_PTR_NULL(mf__shm_alloc(r, REGION));
    CU_ASSERT_PTR_NULL(mf__shm_alloc(r, 0));
    mf__shm_retire(r);
}

static void test_wrap_with_pad(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 20000);
    unsigned char *b = mf__shm_alloc(r, 20000);
    unsigned char *c = mf__shm_alloc(r, 20000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mf__shm_release(a);
    /* The end has ~5 KiB left, the start 20 KiB: a 10000-byte block
     * goes to the start, the end becomes a released pad. */
    unsigned char *d = mf__shm_alloc(r, 10000);
    CU_ASSERT_PTR_EQUAL(d, a);
    /* Every block keeps its bytes. */
    memset(b, 2, 20000);
    memset(c, 3, 20000);
    memset(d, 4, 10000);
    CU_ASSERT_EQUAL(b[19999], 2);
    CU_ASSERT_EQUAL(c[0], 3);
    /* b, c and the pad go; then the ring empties and starts over. */
    mf__shm_release(b);
    mf__shm_release(c);
    unsigned char *e = mf__shm_alloc(r, 40000);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT(e > d);
    mf__shm_release(d);
    mf__shm_release(e);
    CU_ASSERT_PTR_EQUAL(mf__shm_alloc(r, 60000), a);
    mf__shm_release(a);
    mf__shm_retire(r);
}

static void test_reference_checks(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 1000);
    static unsigned char outside[64];
    CU_ASSERT_TRUE(mf__shm_is_block(a, 1000));
    CU_ASSERT_FALSE(mf__shm_is_block(a, 5000));    /* longer than the block */
    CU_ASSERT_FALSE(mf__shm_is_block(a + 16, 10)); /* not a block's start */
    CU_ASSERT_FALSE(mf__shm_is_block(a + 1, 10));  /* misaligned */
    CU_ASSERT_FALSE(mf__shm_is_block(outside + 16, 8)); /* no region's */
    CU_ASSERT_FALSE(mf__shm_is_block(a, REGION));       /* past the region */
    mf__shm_release(a);
    CU_ASSERT_FALSE(mf__shm_is_block(a, 1000)); /* released */
    mf__shm_retire(r);
}

static void test_release_held_by(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 16000);
    unsigned char *b = mf__shm_alloc(r, 16000);
    unsigned char *c = mf__shm_alloc(r, 16000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    mf__shm_set_holder(a, 2); /* sent to rank 2, which dies */
    mf__shm_set_holder(b, 1); /* sent to rank 1, alive */
    mf__shm_release_held_by(r, 2);
    CU_ASSERT_FALSE(mf__shm_is_block(a, 16000));
    CU_ASSERT_TRUE(mf__shm_is_block(b, 16000));
    CU_ASSERT_TRUE(mf__shm_is_block(c, 16000));
    mf__shm_hold(b); /* (rank 1's part: it holds b, then releases it) */
    mf__shm_release(b);
    mf__shm_release(c);
    mf__shm_retire(r);
}

static void test_release_by_another_process(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 40000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    memset(a, 7, 40000);
    mf__shm_set_holder(a, 1);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child reads the block in place (same address) and
         * releases it, as a worker does with an argument. */
        int ok = a[0] == 7 && a[39999] == 7;
        a[0] = 9;
        mf__shm_hold(a);
        mf__shm_release(a);
        _exit(ok ? 0 : 1);
    }
    CU_ASSERT_FATAL(pid > 0);
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CU_ASSERT_EQUAL(a[0], 9);                      /* shared bytes */
    CU_ASSERT_FALSE(mf__shm_is_block(a, 40000));   /* released there */
    CU_ASSERT_PTR_EQUAL(mf__shm_alloc(r, 100), a); /* and reused here */
    mf__shm_release(a);
    mf__shm_retire(r);
}

static void test_retire_while_held(void)
{
    mf_shm *r = mf__shm_new(REGION);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    unsigned char *a = mf__shm_alloc(r, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    mf__shm_retire(r); /* a is held: the mapping stays */
    memset(a, 5, 1000);
    CU_ASSERT_EQUAL(a[999], 5);
    CU_ASSERT_TRUE(mf__shm_is_block(a, 1000));
    mf__shm_release(a); /* the last one: unmapped, forgotten */
    CU_ASSERT_FALSE(mf__shm_is_block(a, 1000));
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("shm", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_alloc_release_order);
    MF_ADD_TEST(s, test_wrap_with_pad);
    MF_ADD_TEST(s, test_reference_checks);
    MF_ADD_TEST(s, test_release_held_by);
    MF_ADD_TEST(s, test_release_by_another_process);
    MF_ADD_TEST(s, test_retire_while_held);
    return 0;
}

int main(void)
{
    return cu_run();
}
