/* run.c — mf_run(): the frame of an SPMD program in one call.
 *
 * Written on the public API only, as a user would: open on every rank,
 * the root's work, always close, and one status for the whole job. The
 * trap it closes: with a bare mf_executor_open(), "ex == NULL" means both
 * "a worker that served and is done" and "the open failed", and an early
 * return on the root skipped the close. Here every path closes, and every
 * rank returns the same status (a broadcast from the root after the
 * close, when every rank is out of its open), so `return mf_run(...)` from
 * main() gives the job one exit status.
 */
#include "mpifutures.h"

MF_API int mf_run(MPI_Comm comm, mf_root_fn root_fn, void *userdata,
                  const mf_executor_opts *opts)
{
    mf_executor *ex = NULL;
    int status;
    if (!root_fn)
        return MF_EINVAL;
    int rc = mf_executor_open(comm, 0, opts, &ex);
    if (rc != MF_OK)
        return rc; /* the same code and message on every rank */
    if (ex) {
        status = root_fn(ex, userdata);
        int crc = mf_executor_close(ex);
        if (status == 0 && crc != MF_OK)
            status = crc;
    } else {
        status = 0; /* a worker: served; the root's status comes next */
    }
    if (MPI_Bcast(&status, 1, MPI_INT, 0, comm) != MPI_SUCCESS)
        return MF_EMPI;
    return status;
}
