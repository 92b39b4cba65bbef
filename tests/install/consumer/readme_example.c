#include <mpifutures.h>
#include <stdio.h>

static mf_fn_id sq;

static int square(mf_task *task, void *userdata)
{
    double x = *(const double *)mf_task_arg(task, NULL); /* 8-byte aligned */
    (void)userdata;
    x *= x;
    return mf_task_return(task, &x, sizeof x);
}

/* The root's work: the workers serve meanwhile. */
static int root(mf_executor *ex, void *userdata)
{
    double x = 12, y;
    mf_future f;
    int rc = mf_submit(ex, sq, &x, sizeof x, &f);
    if (rc == MF_OK)
        rc = mf_future_result_into(f, MF_FOREVER, &y, sizeof y);
    if (rc == MF_OK)
        printf("square(%g) = %g\n", x, y);
    mf_future_release(f);
    (void)userdata;
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    mf_register("square", square, NULL, &sq);          /* on every rank */
    int rc = mf_run(MPI_COMM_WORLD, root, NULL, NULL); /* open, run, close */
    if (rc != MF_OK)
        fprintf(stderr, "example: %s\n", mf_last_error());
    MPI_Finalize();
    return rc == MF_OK ? 0 : 1;
}
