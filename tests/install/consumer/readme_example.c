#include <mpifutures.h>
#include <stdio.h>
#include <string.h>

static int square(mf_task *task, void *userdata)
{
    double x = *(const double *)mf_task_arg(task, NULL); /* 8-byte aligned */
    (void)userdata;
    x *= x;
    return mf_task_return(task, &x, sizeof x);
}

int main(int argc, char **argv)
{
    mf_fn_id sq;
    mf_executor *ex;
    MPI_Init(&argc, &argv);
    mf_register("square", square, NULL, &sq);       /* on every rank */
    mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex); /* workers serve here */
    if (ex) {                                       /* rank 0 only */
        double x = 12, y;
        const void *data;
        mf_future f;
        mf_submit(ex, sq, &x, sizeof x, &f);
        if (mf_future_result(f, MF_FOREVER, &data, NULL) == MF_OK) {
            memcpy(&y, data, sizeof y);
            printf("square(%g) = %g\n", x, y);
        }
        mf_future_release(f);
        mf_executor_close(ex); /* workers return */
    }
    MPI_Finalize();
    return 0;
}
