/* sweep.c — a parameter sweep writing CSV: every (rate, start) pair of a
 * grid runs the logistic map for a while; the CSV line is built in the
 * task. Run: mpirun -n 3 ./sweep > sweep.csv (or ./sweep 16 for a 16x16
 * grid). */
#include <mpifutures.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct point {
    double rate, start;
} point;

static mf_fn_id logistic;

static int t_logistic(mf_task *task, void *userdata)
{
    const point *p = mf_task_arg(task, NULL);
    double x = p->start;
    (void)userdata;
    for (int i = 0; i < 10000; i++)
        x = p->rate * x * (1 - x);
    return mf_task_printf(task, "%.3f,%.3f,%.6f\n", p->rate, p->start, x);
}

static int sweep(mf_executor *ex, void *userdata)
{
    int n = *(int *)userdata;
    point *grid = malloc((size_t)n * (size_t)n * sizeof *grid);
    mf_map_iter *it = NULL;
    const void *line;
    size_t len;
    if (!grid)
        return 1;
    for (int i = 0; i < n * n; i++)
        grid[i] = (point){2.5 + 1.5 * (i / n) / n, 0.1 + 0.8 * (i % n) / n};
    int rc = mf_map_array(ex, logistic, grid, (size_t)n * (size_t)n,
                          sizeof *grid, NULL, &it);
    free(grid);
    printf("rate,start,x\n");
    while (rc == MF_OK && (rc = mf_map_next(it, &line, &len, NULL)) == MF_OK)
        fwrite(line, 1, len, stdout);
    mf_map_free(it);
    return rc == MF_EDONE ? 0 : rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int n = argc > 1 ? atoi(argv[1]) : 8;
    mf_register("logistic", t_logistic, NULL, &logistic);
    int rc = mf_run(MPI_COMM_WORLD, sweep, &n, NULL);
    if (rc != MF_OK)
        fprintf(stderr, "sweep: %s\n", mf_last_error());
    MPI_Finalize();
    return rc ? 1 : 0;
}
