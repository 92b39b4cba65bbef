/*
 * local.h — the worker processes of a local process pool (local.c).
 */
#ifndef MF_LOCAL_H
#define MF_LOCAL_H

#include "executor.h"

/* Start ex->size - 1 workers, processes (each on its socket of a new
 * local link) or threads (kind MF_THREADS: on shared inboxes), as
 * ex->link, and set ex's backend hooks (revive, backend_close). On
 * failure nothing is left running. */
int mf__local_start(mf_executor *ex, int kind);

#endif
