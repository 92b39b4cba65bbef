/*
 * A program outside the project, built against the *installed* mpifutures
 * (with pkg-config or with CMake's find_package). Every rank registers a
 * function and opens an executor on MPI_COMM_WORLD; the root submits one
 * call, checks its result and closes the executor.
 */
#include <mpifutures.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int triple(mf_task *task, void *userdata)
{
    size_t len;
    const void *arg = mf_task_arg(task, &len);
    int64_t x;

    (void)userdata;
    if (len != sizeof x)
        return mf_task_fail(task, "expected %zu bytes, got %zu", sizeof x,
                            len);
    memcpy(&x, arg, sizeof x);
    x *= 3;
    return mf_task_return(task, &x, sizeof x);
}

int main(int argc, char **argv)
{
    mf_fn_id id;
    mf_executor *ex = NULL;
    int rank, rc, ok = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);

    rc = mf_register("triple", triple, NULL, &id);
    if (rc == MF_OK)
        rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    if (rc != MF_OK) {
        fprintf(stderr, "consumer: rank %d: %s: %s\n", rank, mf_errname(rc),
                mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (ex) { /* root */
        int64_t x = 14, y = 0;
        const void *data = NULL;
        size_t len = 0;
        mf_future f = {0};

        rc = mf_submit(ex, id, &x, sizeof x, &f);
        if (rc == MF_OK)
            rc = mf_future_result(f, MF_FOREVER, &data, &len);
        if (rc == MF_OK && len == sizeof y) {
            memcpy(&y, data, sizeof y);
            ok = (y == 42);
        }
        printf("consumer: mpifutures %s, %d worker(s), triple(14) = %lld: "
               "%s\n",
               mf_version(), mf_executor_workers(ex), (long long)y,
               ok ? "OK" : "WRONG");
        if (rc != MF_OK)
            fprintf(stderr, "consumer: %s: %s\n", mf_errname(rc),
                    mf_last_error());
        mf_future_release(f);
        rc = mf_executor_close(ex);
        if (rc != MF_OK) {
            fprintf(stderr, "consumer: close: %s\n", mf_errname(rc));
            ok = 0;
        }
        fflush(stdout);
    }
    MPI_Finalize();
    return (rank != 0 || ok) ? 0 : 1;
}
