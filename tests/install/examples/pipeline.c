/* pipeline.c — a bounded pipeline: at most WINDOW tasks outstanding; as
 * each finishes (in whatever order) its result is used and the next task
 * submitted, through one completion queue (mf_as_completed_add + take).
 * Each task squares its input; the sum of the squares is checked.
 * Run: mpirun -n 3 ./pipeline [NTASKS [WINDOW]], or ./pipeline alone. */
#include <mpifutures.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mf_fn_id square;

static int t_square(mf_task *task, void *userdata)
{
    int64_t x;
    size_t len;
    const void *a = mf_task_arg(task, &len);
    (void)userdata;
    if (len != sizeof x)
        return mf_task_fail(task, "want one int64, got %zu bytes", len);
    memcpy(&x, a, sizeof x);
    x *= x;
    return mf_task_return(task, &x, sizeof x);
}

struct job {
    int64_t ntasks, window;
};

static int pipeline(mf_executor *ex, void *userdata)
{
    const struct job *j = userdata;
    mf_as_completed_iter *q = NULL;
    mf_future f;
    int64_t sum = 0, got = 0;
    int rc = mf_as_completed(NULL, 0, MF_FOREVER, &q);
    for (int64_t i = 0; rc == MF_OK && i <= j->ntasks; i++) {
        /* full (or all submitted): take the next finished one */
        while (rc == MF_OK && (i - got >= j->window || i == j->ntasks) &&
               got < i) {
            int64_t y;
            size_t pos; /* the k-th add is k: here, the input i */
            rc = mf_as_completed_take(q, &f, &pos);
            if (rc != MF_OK)
                break;
            rc = mf_future_result_into(f, 0, &y, sizeof y);
            mf_future_release(f);
            if (rc == MF_OK && y != (int64_t)pos * (int64_t)pos) {
                fprintf(stderr, "pipeline: task %zu gave %lld\n", pos,
                        (long long)y);
                rc = 1;
            }
            sum += y;
            got++;
        }
        if (rc != MF_OK || i == j->ntasks)
            break;
        rc = mf_submit(ex, square, &i, sizeof i, &f);
        if (rc == MF_OK) {
            rc = mf_as_completed_add(q, f);
            mf_future_release(f);
        }
    }
    mf_as_completed_free(q);
    if (rc != MF_OK)
        return rc;
    int64_t n = j->ntasks, want = (n - 1) * n * (2 * n - 1) / 6;
    printf("pipeline: %lld tasks, window %lld, sum of squares %lld (%s)\n",
           (long long)n, (long long)j->window, (long long)sum,
           sum == want ? "right" : "WRONG");
    return sum == want ? MF_OK : 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    struct job j = {argc > 1 ? atoll(argv[1]) : 10000,
                    argc > 2 ? atoll(argv[2]) : 8};
    if (j.ntasks < 0 || j.window < 1) {
        fprintf(stderr, "pipeline: NTASKS >= 0, WINDOW >= 1\n");
        MPI_Finalize();
        return 2;
    }
    mf_register("square", t_square, NULL, &square);
    int rc = mf_run(MPI_COMM_WORLD, pipeline, &j, NULL);
    if (rc != MF_OK && rc != 1)
        fprintf(stderr, "pipeline: %s: %s\n", mf_strerror(rc),
                mf_last_error());
    MPI_Finalize();
    return rc == MF_OK ? 0 : 1;
}
