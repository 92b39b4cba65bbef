/*
 * shm_run.c — large payloads of the local process pool through its shared
 * regions (shm.c, link_local.c), run as a plain process. CTest runs it
 * with the default regions, with MF_SHM=1 (1 MiB regions: payloads above
 * that, and whatever does not fit while others are held, go through the
 * sockets instead) and with MF_SHM=0 (no regions). In every mode:
 *
 *  1. echo: 200 arguments of 32 KiB to 2 MiB, 6 outstanding, edited in
 *     place by the task and handed back (mf_task_return_arg); every byte
 *     checked;
 *  2. results built on the worker (mf_task_result_buffer, 1 MiB) and read
 *     in place on the root;
 *  3. a worker that dies (abort) while it holds a 512 KiB argument: its
 *     future fails with MF_FAIL_CRASH, the replacement serves 50 more
 *     echoes;
 *  4. a bad MF_SHM value is refused at the open (MF_EINVAL);
 *  and then, with every future released, the root's region holds nothing:
 *  no block is leaked, not even the one the dead worker held.
 */
#include "executor.h"
#include "shm.h"

#include "cu_main.h"
#include "mpifutures.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static mf_fn_id id_echo, id_build, id_die;
static mf_executor *g_ex;

static unsigned char pat(uint64_t seed, size_t i)
{
    return (unsigned char)(seed * 131 + i * 31 + (i >> 9));
}

/* Bytes 0 and len-1 plus one, the rest kept; the same buffer back. */
static int t_echo(mf_task *t, void *ud)
{
    size_t len;
    unsigned char *a = mf_task_arg_inplace(t, &len);
    (void)ud;
    a[0]++;
    a[len - 1]++;
    return mf_task_return_arg(t, len);
}

/* Argument {seed, len}: a result of len bytes of pat(seed). */
static int t_build(mf_task *t, void *ud)
{
    uint64_t a[2];
    void *buf;
    (void)ud;
    memcpy(a, mf_task_arg(t, NULL), sizeof a);
    if (mf_task_result_buffer(t, (size_t)a[1], &buf) != MF_OK)
        return mf_task_fail(t, "no buffer");
    for (size_t i = 0; i < a[1]; i++)
        ((unsigned char *)buf)[i] = pat(a[0], i);
    return 0;
}

static int t_die(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    abort();
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pat(seed, i);
}

/* The echo of `seed`'s buffer of n bytes came back right. */
static int echo_ok(mf_future f, uint64_t seed, size_t n)
{
    const unsigned char *r;
    size_t len = 0;
    if (mf_future_result(f, 60, (const void **)&r, &len) != MF_OK || len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char want = pat(seed, i);
        if (i == 0 || i == n - 1)
            want++;
        if (r[i] != want)
            return 0;
    }
    return 1;
}

static void echoes(int count, size_t maxlen)
{
    enum { WIN = 6 };
    mf_future f[WIN];
    uint64_t seed[WIN];
    size_t len[WIN];
    unsigned char *buf = malloc(maxlen);
    int ok = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (int k = 0; k < count + WIN; k++) {
        int s = k % WIN;
        if (k >= WIN) { /* the oldest first: then its slot is reused */
            ok += echo_ok(f[s], seed[s], len[s]);
            CU_ASSERT_EQUAL(mf_future_release(f[s]), MF_OK);
        }
        if (k < count) {
            seed[s] = (uint64_t)k + 1;
            len[s] = (size_t)32768 + ((size_t)k * 104729u) % (maxlen - 32768);
            fill(buf, len[s], seed[s]);
            CU_ASSERT_EQUAL_FATAL(
                mf_submit(g_ex, id_echo, buf, len[s], &f[s]), MF_OK);
        }
    }
    CU_ASSERT_EQUAL(ok, count);
    free(buf);
}

static void t_echoes(void)
{
    echoes(200, (size_t)2 << 20);
}

static void t_built_results(void)
{
    mf_future f[4];
    int ok = 0;
    for (int k = 0; k < 48; k++) {
        uint64_t a[2] = {(uint64_t)k + 500, (size_t)1 << 20};
        int s = k % 4;
        if (k >= 4) {
            const unsigned char *r;
            size_t len = 0;
            int good = mf_future_result(f[s], 60, (const void **)&r, &len) ==
                           MF_OK &&
                       len == ((size_t)1 << 20);
            for (size_t i = 0; good && i < len; i++)
                good = r[i] == pat((uint64_t)k - 4 + 500, i);
            ok += good;
            CU_ASSERT_EQUAL(mf_future_release(f[s]), MF_OK);
        }
        CU_ASSERT_EQUAL_FATAL(mf_submit(g_ex, id_build, a, sizeof a, &f[s]),
                              MF_OK);
    }
    for (int k = 48; k < 52; k++) {
        int s = k % 4;
        CU_ASSERT_EQUAL(mf_future_result(f[s], 60, NULL, NULL), MF_OK);
        CU_ASSERT_EQUAL(mf_future_release(f[s]), MF_OK);
    }
    CU_ASSERT_EQUAL(ok, 44);
}

static void t_worker_dies_holding_a_block(void)
{
    size_t n = (size_t)512 << 10;
    unsigned char *buf = calloc(1, n);
    mf_future f;
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_EQUAL_FATAL(mf_submit(g_ex, id_die, buf, n, &f), MF_OK);
    const mf_task_error *e = NULL;
    CU_ASSERT_EQUAL(mf_future_result(f, 60, NULL, NULL), MF_ETASK);
    CU_ASSERT_EQUAL(mf_future_error(f, 0, &e), MF_OK);
    CU_ASSERT(e && e->reason == MF_FAIL_CRASH);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
    free(buf);
    echoes(50, (size_t)1 << 20); /* the replacement serves */
}

static void t_nothing_leaked(void)
{
    const char *v = getenv("MF_SHM");
    if (v && !strcmp(v, "0")) {
        CU_ASSERT_PTR_NULL(g_ex->shm); /* off */
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_ex->shm);
    /* Every future was released: what the workers held came back (the
     * dead one's block included); the releases of the last blocks may
     * still be on their way from a worker (bounded wait). */
    size_t used = 1;
    for (int i = 0; i < 2000 && (used = mf__shm_in_use(g_ex->shm)) != 0;
         i++) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    CU_ASSERT_EQUAL(used, 0);
}

static void t_bad_setting(void)
{
    char *old = getenv("MF_SHM") ? strdup(getenv("MF_SHM")) : NULL;
    mf_executor *ex = NULL;
    setenv("MF_SHM", "12x", 1);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 1, NULL, &ex),
                    MF_EINVAL);
    CU_ASSERT_PTR_NULL(ex);
    CU_ASSERT_PTR_NOT_NULL(strstr(mf_last_error(), "MF_SHM"));
    setenv("MF_SHM", "-1", 1);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 1, NULL, &ex),
                    MF_EINVAL);
    if (old)
        setenv("MF_SHM", old, 1);
    else
        unsetenv("MF_SHM");
    free(old);
}

static int open_pool(void)
{
    return mf_executor_open_local(MF_PROCESSES, 2, NULL, &g_ex) == MF_OK ? 0
                                                                         : -1;
}

static int close_pool(void)
{
    return mf_executor_close(g_ex) == MF_OK ? 0 : -1;
}

static int add_suites(void)
{
    if (mf_register("echo", t_echo, NULL, &id_echo) != MF_OK ||
        mf_register("build", t_build, NULL, &id_build) != MF_OK ||
        mf_register("die", t_die, NULL, &id_die) != MF_OK)
        return -1;
    CU_pSuite s = CU_add_suite("shm", open_pool, close_pool);
    if (!s)
        return -1;
    MF_ADD_TEST(s, t_echoes);
    MF_ADD_TEST(s, t_built_results);
    MF_ADD_TEST(s, t_worker_dies_holding_a_block);
    MF_ADD_TEST(s, t_nothing_leaked);
    CU_pSuite b = CU_add_suite("shm_setting", NULL, NULL);
    if (!b)
        return -1;
    MF_ADD_TEST(b, t_bad_setting);
    return 0;
}

int main(void)
{
    return cu_run();
}
