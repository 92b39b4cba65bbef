/*
 * misuse_run — every public call given NULL, a released future or a
 * closed executor returns an error code, on the root and on the workers
 * (where there is no executor). Prints "misuse: ok" on success.
 */
#include <mpifutures.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;
#define EXPECT(call, code)                                                   \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != (code)) {                                                 \
            fprintf(stderr, "misuse: %s gave %s, want %s\n", #call,          \
                    mf_errname(rc_), mf_errname(code));                      \
            bad++;                                                           \
        }                                                                    \
    } while (0)

static int t_nop(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

/* Returns {length, first byte, last byte} of its argument. */
static int t_probe(mf_task *t, void *ud)
{
    size_t len;
    const unsigned char *a = mf_task_arg(t, &len);
    uint64_t r[3] = {len, len ? a[0] : 0, len ? a[len - 1] : 0};
    (void)ud;
    return mf_task_return(t, r, sizeof r);
}

static int freed;
static void count_free(void *p)
{
    freed++;
    free(p);
}

int main(int argc, char **argv)
{
    mf_fn_id nop;
    mf_executor *ex;
    mf_future f, null = {0};
    int rank;
    mf_init(&argc, &argv, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mf_fn_id probe;
    mf_register("nop", t_nop, NULL, &nop);
    mf_register("probe", t_probe, NULL, &probe);
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK)
        return 1;
    if (ex) {
        EXPECT(mf_submit(ex, nop, NULL, 0, &f), MF_OK);
        EXPECT(mf_future_result(f, 30, NULL, NULL), MF_OK);
        EXPECT(mf_future_release(f), MF_OK);
        /* A released future, everywhere. */
        EXPECT(mf_future_release(f), MF_EBADHANDLE);
        EXPECT(mf_future_retain(f), MF_EBADHANDLE);
        EXPECT(mf_future_result(f, 0, NULL, NULL), MF_EBADHANDLE);
        EXPECT(mf_future_error(f, 0, NULL), MF_EBADHANDLE);
        EXPECT(mf_future_cancel(f), MF_EBADHANDLE);
        EXPECT(mf_future_on_done(f, NULL, NULL), MF_EINVAL);
        EXPECT(mf_wait(&f, 1, 0, MF_ALL_COMPLETED, NULL, NULL),
               MF_EBADHANDLE);
        mf_as_completed_iter *it;
        EXPECT(mf_as_completed(&f, 1, 0, &it), MF_EBADHANDLE);
        if (mf_future_done(f) || mf_future_running(f) ||
            mf_future_cancelled(f))
            bad++;
        EXPECT(mf_future_release(null), MF_EBADHANDLE);
        /* free_arg: the buffer is taken, not copied, and released once,
         * also when the call is refused or cancelled. */
        {
            mf_submit_opts so = {0};
            so.free_arg = count_free;
            size_t big = 3u << 20;
            unsigned char *b = malloc(big);
            memset(b, 7, big);
            b[big - 1] = 9;
            EXPECT(mf_submit_ex(ex, probe, b, big, &so, &f), MF_OK);
            const void *d;
            size_t len;
            EXPECT(mf_future_result(f, 30, &d, &len), MF_OK);
            const uint64_t *r = d;
            if (len != 24 || r[0] != big || r[1] != 7 || r[2] != 9)
                bad++;
            mf_future_release(f);
            if (freed != 1)
                bad++;
            unsigned char *small = malloc(4);
            memcpy(small, "abcd", 4);
            EXPECT(mf_submit_ex(ex, probe, small, 4, &so, &f), MF_OK);
            EXPECT(mf_future_result(f, 30, NULL, NULL), MF_OK);
            mf_future_release(f);
            unsigned char *lost = malloc(1 << 20);
            EXPECT(mf_submit_ex(ex, 777, lost, 1 << 20, &so, &f), MF_ENOENT);
            if (freed != 3) {
                fprintf(stderr, "misuse: free_arg called %d times, want 3\n",
                        freed);
                bad++;
            }
        }
        /* NULL arguments. */
        EXPECT(mf_submit(NULL, nop, NULL, 0, &f), MF_EINVAL);
        EXPECT(mf_submit(ex, nop, NULL, 0, NULL), MF_EINVAL);
        EXPECT(mf_submit(ex, nop, NULL, 5, &f), MF_EINVAL);
        EXPECT(mf_submit(ex, 12345, NULL, 0, &f), MF_ENOENT);
        EXPECT(mf_map(ex, nop, NULL, NULL, 3, NULL, NULL), MF_EINVAL);
        EXPECT(mf_map_next(NULL, NULL, NULL, NULL), MF_EINVAL);
        EXPECT(mf_as_completed_next(NULL, &f), MF_EINVAL);
        EXPECT(mf_wait(NULL, 2, 0, MF_ALL_COMPLETED, NULL, NULL), MF_EINVAL);
        EXPECT(mf_executor_stats(NULL, NULL, 0, NULL), MF_EINVAL);
        EXPECT(mf_executor_shutdown(NULL, 1, 0), MF_EINVAL);
        EXPECT(mf_executor_journal(NULL, NULL, NULL, NULL), MF_EINVAL);
        EXPECT(mf_executor_close(NULL), MF_OK);
        EXPECT(mf_executor_close(ex), MF_OK);
        /* A closed executor. */
        EXPECT(mf_submit(ex, nop, NULL, 0, &f), MF_EBADHANDLE);
        EXPECT(mf_map(ex, nop, NULL, NULL, 0, NULL, NULL), MF_EBADHANDLE);
        EXPECT(mf_executor_shutdown(ex, 1, 1), MF_EBADHANDLE);
        EXPECT(mf_executor_stats(ex, NULL, 0, NULL), MF_EBADHANDLE);
        EXPECT(mf_executor_journal(ex, NULL, NULL, NULL), MF_EBADHANDLE);
        EXPECT(mf_executor_close(ex), MF_EBADHANDLE);
        if (mf_executor_workers(ex) != 0 || mf_executor_interrupted(ex) != 0)
            bad++;
    } else {
        /* On a worker after the executor closed: no executor to use. */
        EXPECT(mf_submit(NULL, nop, NULL, 0, &f), MF_EINVAL);
        EXPECT(mf_task_return(NULL, "x", 1), MF_EINVAL);
        EXPECT(mf_task_result_buffer(NULL, 1, NULL), MF_EINVAL);
        EXPECT(mf_task_fail(NULL, "x"), MF_ETASK);
        size_t len = 99;
        if (!mf_task_arg(NULL, &len) || len != 0)
            bad++;
    }
    EXPECT(mf_register(NULL, t_nop, NULL, NULL), MF_EINVAL);
    EXPECT(mf_register("nop", t_nop, NULL, NULL), MF_EEXIST);
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("misuse: %s (%d bad)\n", all ? "FAILED" : "ok", all);
    mf_finalize();
    return all ? 1 : 0;
}
