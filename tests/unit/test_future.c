/* Unit tests: the future state machine, callbacks, references, and
 * mf_wait / mf_as_completed over futures finished by hand (no executor,
 * no MPI traffic). */
#include "alloc.h"
#include "cu_main.h"
#include "future.h"
#include "lock.h"
#include "mpifutures.h"

#include <string.h>

static mf_future make(void)
{
    mf__lock();
    mf_fut *f = mf__fut_alloc();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f->refs = 1;
    mf_future h = mf__fut_handle(f);
    mf__unlock();
    return h;
}

static const char result_bytes[] = "result!";

/* Finish a future as the executor would. */
static void finish(mf_future h, int state)
{
    mf__lock();
    mf_fut *f = mf__fut_lookup(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (state == MF_FS_OK) {
        f->res = result_bytes;
        f->res_len = sizeof result_bytes;
    } else if (state == MF_FS_FAILED) {
        mf_ferr *e = mf__calloc(1, sizeof *e);
        e->message = mf__strdup("it broke");
        e->function = mf__strdup("fn");
        e->host = mf__strdup("host");
        e->pub = (mf_task_error){e->message, e->function, 3, e->host,
                                 MF_FAIL_TASK};
        f->err = e;
    }
    mf__fut_finish(f, state);
    mf__unlock();
}

static void set_running(mf_future h)
{
    mf__lock();
    mf__fut_lookup(h)->state = MF_FS_RUNNING;
    mf__unlock();
}

static void test_states(void)
{
    mf_future f = make();
    const void *d = NULL;
    size_t len = 99;
    const mf_task_error *e = (const mf_task_error *)1;
    CU_ASSERT_FALSE(mf_future_done(f));
    CU_ASSERT_FALSE(mf_future_running(f));
    CU_ASSERT_FALSE(mf_future_cancelled(f));
    /* Zero timeout on a pending future: not done yet, nothing changed. */
    CU_ASSERT_EQUAL(mf_future_result(f, 0, &d, &len), MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(len, 99);
    CU_ASSERT_EQUAL(mf_future_error(f, 0, &e), MF_ETIMEDOUT);
    /* A blocking wait with no executor to make progress is refused. */
    CU_ASSERT_EQUAL(mf_future_result(f, 0.01, &d, &len), MF_ESTATE);
    set_running(f);
    CU_ASSERT_TRUE(mf_future_running(f));
    CU_ASSERT_EQUAL(mf_future_cancel(f), MF_ESTATE); /* running */
    CU_ASSERT_FALSE(mf_future_cancelled(f));
    finish(f, MF_FS_OK);
    CU_ASSERT_TRUE(mf_future_done(f));
    CU_ASSERT_FALSE(mf_future_running(f));
    CU_ASSERT_EQUAL(mf_future_cancel(f), MF_ESTATE); /* finished */
    CU_ASSERT_EQUAL(mf_future_result(f, 0, &d, &len), MF_OK);
    CU_ASSERT_EQUAL(len, sizeof result_bytes);
    CU_ASSERT_PTR_EQUAL(d, result_bytes);
    CU_ASSERT_EQUAL(mf_future_error(f, 0, &e), MF_OK);
    CU_ASSERT_PTR_NULL(e);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
}

static void test_failed(void)
{
    mf_future f = make();
    const mf_task_error *e = NULL;
    set_running(f);
    finish(f, MF_FS_FAILED);
    CU_ASSERT_EQUAL(mf_future_result(f, MF_FOREVER, NULL, NULL), MF_ETASK);
    CU_ASSERT(strstr(mf_last_error(), "it broke") != NULL);
    CU_ASSERT_EQUAL(mf_future_error(f, MF_FOREVER, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(e->message, "it broke");
    CU_ASSERT_STRING_EQUAL(e->function, "fn");
    CU_ASSERT_STRING_EQUAL(e->host, "host");
    CU_ASSERT_EQUAL(e->rank, 3);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
}

static int order[16], norder;

static void cb_record(mf_future f, void *ud)
{
    (void)f;
    order[norder++] = (int)(intptr_t)ud;
}

static void test_cancel_queued(void)
{
    mf_future f = make();
    norder = 0;
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)1), MF_OK);
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)2), MF_OK);
    CU_ASSERT_EQUAL(norder, 0);
    CU_ASSERT_EQUAL(mf_future_cancel(f), MF_OK);
    CU_ASSERT_EQUAL(norder, 2); /* callbacks ran, in order, once */
    CU_ASSERT_EQUAL(order[0], 1);
    CU_ASSERT_EQUAL(order[1], 2);
    CU_ASSERT_TRUE(mf_future_cancelled(f));
    CU_ASSERT_TRUE(mf_future_done(f));
    CU_ASSERT_EQUAL(mf_future_cancel(f), MF_OK); /* again: still OK */
    CU_ASSERT_EQUAL(norder, 2);
    CU_ASSERT_EQUAL(mf_future_result(f, MF_FOREVER, NULL, NULL),
                    MF_ECANCELLED);
    CU_ASSERT_EQUAL(mf_future_error(f, 0, NULL), MF_ECANCELLED);
    /* Added after the fact: runs at once. */
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)3), MF_OK);
    CU_ASSERT_EQUAL(norder, 3);
    CU_ASSERT_EQUAL(order[2], 3);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
}

static void test_callbacks_order_once(void)
{
    mf_future f = make();
    norder = 0;
    for (intptr_t i = 1; i <= 10; i++)
        CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)i), MF_OK);
    CU_ASSERT_EQUAL(mf_future_on_done(f, NULL, NULL), MF_EINVAL);
    set_running(f);
    finish(f, MF_FS_OK);
    CU_ASSERT_EQUAL_FATAL(norder, 10);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(order[i], i + 1);
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)11), MF_OK);
    CU_ASSERT_EQUAL(norder, 11);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
}

static mf_future other;
static int inner_rc[4];

static void cb_blocking(mf_future f, void *ud)
{
    (void)ud;
    /* Blocking waits are refused inside a callback; polls are fine. */
    inner_rc[0] = mf_future_result(other, 1.0, NULL, NULL);
    inner_rc[1] = mf_future_result(other, 0, NULL, NULL);
    inner_rc[2] = mf_wait(&other, 1, 1.0, MF_ALL_COMPLETED, NULL, NULL);
    inner_rc[3] = mf_future_result(f, 1.0, NULL, NULL); /* done: fine */
}

static void test_blocking_in_callback(void)
{
    mf_future f = make();
    other = make();
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_blocking, NULL), MF_OK);
    finish(f, MF_FS_OK);
    CU_ASSERT_EQUAL(inner_rc[0], MF_EINCALLBACK);
    CU_ASSERT_EQUAL(inner_rc[1], MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(inner_rc[2], MF_EINCALLBACK);
    CU_ASSERT_EQUAL(inner_rc[3], MF_OK);
    /* Outside callbacks again, a zero-timeout wait just times out. */
    CU_ASSERT_EQUAL(mf_future_result(other, 0, NULL, NULL), MF_ETIMEDOUT);
    mf_future_release(f);
    mf_future_release(other);
}

static void cb_release(mf_future f, void *ud)
{
    (void)ud;
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
    /* Still valid for the rest of its callbacks. */
    CU_ASSERT_TRUE(mf_future_done(f));
    CU_ASSERT_EQUAL(mf_future_result(f, 0, NULL, NULL), MF_OK);
    /* But the caller holds no reference any more. */
    CU_ASSERT_EQUAL(mf_future_release(f), MF_EBADHANDLE);
}

static void cb_add_more(mf_future f, void *ud)
{
    (void)ud;
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)7), MF_OK);
}

static void test_release_in_callback(void)
{
    mf_future f = make();
    norder = 0;
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_add_more, NULL), MF_OK);
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_release, NULL), MF_OK);
    CU_ASSERT_EQUAL(mf_future_on_done(f, cb_record, (void *)5), MF_OK);
    finish(f, MF_FS_OK);
    /* The one added during the run ran at once (the future is done, as
     * in Python's add_done_callback); later callbacks still ran. */
    CU_ASSERT_EQUAL(norder, 2);
    CU_ASSERT_EQUAL(order[0], 7);
    CU_ASSERT_EQUAL(order[1], 5);
    /* The last reference went in the callback: the handle is stale. */
    CU_ASSERT_EQUAL(mf_future_release(f), MF_EBADHANDLE);
    CU_ASSERT_FALSE(mf_future_done(f));
}

static void test_handles(void)
{
    mf_future null = {0}, bogus = {0xdeadbeef00000001ull};
    CU_ASSERT_EQUAL(mf_future_release(null), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_retain(null), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_cancel(null), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_result(null, 0, NULL, NULL), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_error(null, 0, NULL), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_on_done(null, cb_record, NULL), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_release(bogus), MF_EBADHANDLE);
    CU_ASSERT_FALSE(mf_future_done(null));
    CU_ASSERT_FALSE(mf_future_running(bogus));
    CU_ASSERT_FALSE(mf_future_cancelled(bogus));

    mf_future f = make();
    CU_ASSERT_EQUAL(mf_future_retain(f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_EBADHANDLE); /* double */

    /* Even once the slot is reused, the old handle stays stale. */
    uint32_t index = (uint32_t)f.h;
    mf_future again[5000];
    size_t n = 0, hit = 0;
    for (; n < 5000; n++) {
        again[n] = make();
        if ((uint32_t)again[n].h == index) {
            hit = 1;
            n++;
            break;
        }
    }
    CU_ASSERT_TRUE(hit);
    CU_ASSERT_EQUAL(mf_future_release(f), MF_EBADHANDLE);
    CU_ASSERT_FALSE(mf_future_done(f));
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(mf_future_release(again[i]), MF_OK);
}

static void test_wait(void)
{
    mf_future a = make(), b = make(), c = make();
    mf_future set[4] = {a, b, c, a};
    unsigned char done[4];
    size_t nd = 99;
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, 0, NULL, NULL), MF_EINVAL);
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_FIRST_COMPLETED, done, &nd),
                    MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(nd, 0);
    finish(a, MF_FS_OK);
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_FIRST_COMPLETED, done, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 1); /* a twice, counted once */
    CU_ASSERT(done[0] && !done[1] && !done[2] && done[3]);
    /* FIRST_EXCEPTION with no failure waits for all. */
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_FIRST_EXCEPTION, done, &nd),
                    MF_ETIMEDOUT);
    finish(b, MF_FS_FAILED);
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_FIRST_EXCEPTION, done, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 2);
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_ALL_COMPLETED, done, &nd),
                    MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mf_future_cancel(c), MF_OK); /* cancelled = done */
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_ALL_COMPLETED, done, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 3);
    CU_ASSERT_EQUAL(mf_wait(set, 0, 0, MF_ALL_COMPLETED, NULL, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 0);
    mf_future_release(a);
    mf_future_release(b);
    mf_future_release(c);
    CU_ASSERT_EQUAL(mf_wait(set, 4, 0, MF_ALL_COMPLETED, NULL, NULL),
                    MF_EBADHANDLE);
}

static void test_as_completed(void)
{
    mf_future a = make(), b = make(), c = make(), d = make();
    mf_as_completed_iter *it;
    mf_future got;
    finish(c, MF_FS_OK);
    finish(a, MF_FS_OK);
    /* pending b, d; finished a, c; duplicates of b and c */
    mf_future set[6] = {b, c, a, b, d, c};
    CU_ASSERT_EQUAL_FATAL(mf_as_completed(set, 6, MF_FOREVER, &it), MF_OK);
    /* Finished ones first, in input order. */
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_OK);
    CU_ASSERT_EQUAL(got.h, c.h);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_OK);
    CU_ASSERT_EQUAL(got.h, a.h);
    /* Then in completion order. */
    finish(d, MF_FS_FAILED);
    finish(b, MF_FS_OK);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_OK);
    CU_ASSERT_EQUAL(got.h, d.h);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_OK);
    CU_ASSERT_EQUAL(got.h, b.h);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_EDONE);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_EDONE);
    /* The iterator holds references: released by the user, still fine. */
    mf_future_release(a);
    mf_future_release(b);
    mf_future_release(c);
    mf_future_release(d);
    mf_as_completed_free(it);
    CU_ASSERT_EQUAL(mf_future_release(a), MF_EBADHANDLE);
}

static void test_as_completed_timeout_and_free(void)
{
    mf_future a = make(), b = make();
    mf_as_completed_iter *it;
    mf_future got, set[2] = {a, b};
    CU_ASSERT_EQUAL_FATAL(mf_as_completed(set, 2, 0, &it), MF_OK);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_ETIMEDOUT);
    finish(a, MF_FS_OK);
    /* After the timeout, futures already done are still given. */
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_OK);
    CU_ASSERT_EQUAL(got.h, a.h);
    CU_ASSERT_EQUAL(mf_as_completed_next(it, &got), MF_ETIMEDOUT);
    /* Freed with b pending: b's callback must be gone (ASan checks that
     * finishing b later touches no freed memory). */
    mf_as_completed_free(it);
    finish(b, MF_FS_OK);
    CU_ASSERT_EQUAL(mf_as_completed(NULL, 1, 0, &it), MF_EINVAL);
    mf_future_release(a);
    mf_future_release(b);
    CU_ASSERT_EQUAL(mf_as_completed(set, 2, 0, &it), MF_EBADHANDLE);
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("future", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_states);
    MF_ADD_TEST(s, test_failed);
    MF_ADD_TEST(s, test_cancel_queued);
    MF_ADD_TEST(s, test_callbacks_order_once);
    MF_ADD_TEST(s, test_blocking_in_callback);
    MF_ADD_TEST(s, test_release_in_callback);
    MF_ADD_TEST(s, test_handles);
    MF_ADD_TEST(s, test_wait);
    MF_ADD_TEST(s, test_as_completed);
    MF_ADD_TEST(s, test_as_completed_timeout_and_free);
    return 0;
}

int main(void)
{
    return cu_run();
}
