/*
 * launcher_run.c — a program started by another MPI's launcher is told so
 * (issue 15, trap 3): run with the other MPI's mpiexec -n 2, each process
 * sees a world of 1 while the launcher's environment says 2. The open
 * must fail with MF_ENOWORKERS naming the launcher and this MPI, and say
 * it once on stderr. Exits 0 when it did.
 */
#include <mpifutures.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    mf_executor *ex = NULL;
    MPI_Init(&argc, &argv);
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    int rc2 = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex); /* not again */
    const char *msg = mf_last_error();
    int ok = rc == MF_ENOWORKERS && rc2 == MF_ENOWORKERS && ex == NULL &&
             strstr(msg, "started as one of 2 ranks by") &&
             strstr(msg, "another MPI");
    printf("launcher_run: %s: %s\n", ok ? "ok" : "FAILED", msg);
    MPI_Finalize();
    return ok ? 0 : 1;
}
