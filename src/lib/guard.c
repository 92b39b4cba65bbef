/* guard.c — no hang on a missed close.
 *
 * Workers serve inside mf_executor_open() until the root closes the
 * executor; a root that forgets mf_executor_close() (an early return, an
 * exit() on an error path) would leave them waiting for ever and burn the
 * allocation. Two hooks catch it on the root, both installed when its
 * first executor opens:
 *
 *  - MPI_Finalize(): MPI deletes the attributes of MPI_COMM_SELF first,
 *    while MPI still works, so a delete callback on an attribute of ours
 *    closes what is open;
 *  - exit() or a return from main() without MPI_Finalize(): a library
 *    destructor (run at exit; no atexit registration, so a dlclose is
 *    safe) closes what is open while MPI is still initialised.
 *
 * Each says on stderr which call was missed. Where a close cannot be made
 * (from inside a done callback), the job is aborted instead: a message
 * and an end beat a silent hang.
 */
#include "guard.h"

#include "executor.h"
#include "lock.h"
#include "progress.h"

#include <stdio.h>

static int mf_keyval = MPI_KEYVAL_INVALID;

static void mf_close_leftovers(const char *when)
{
    mf_executor *ex;
    while ((ex = mf__ex_any_open()) != NULL) {
        fprintf(stderr,
                "mpifutures: an executor was still open at %s: call "
                "mf_executor_close() on the root before it; closing it now "
                "so the workers are released\n",
                when);
        fflush(stderr);
        int rc = mf_executor_close(ex);
        if (rc != MF_OK && mf__ex_any_open() == ex) {
            fprintf(stderr,
                    "mpifutures: the executor could not be closed (%s); "
                    "ending the job\n",
                    mf_strerror(rc));
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 70);
        }
    }
}

static int mf_self_delete(MPI_Comm comm, int keyval, void *attr, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)attr;
    (void)extra;
    mf_close_leftovers("MPI_Finalize()");
    return MPI_SUCCESS;
}

__attribute__((destructor)) static void mf_exit_guard(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin && mf__ex_any_open())
        mf_close_leftovers("exit (exit() called, or a return from main() "
                           "without MPI_Finalize())");
}

void mf__guard_install(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (mf_keyval != MPI_KEYVAL_INVALID || !init || fin)
        return; /* (a local pool without MPI: its workers die with us) */
    if (MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, mf_self_delete,
                               &mf_keyval, NULL) != MPI_SUCCESS)
        return;
    if (MPI_Comm_set_attr(MPI_COMM_SELF, mf_keyval, NULL) != MPI_SUCCESS) {
        MPI_Comm_free_keyval(&mf_keyval);
        mf_keyval = MPI_KEYVAL_INVALID;
    }
}
