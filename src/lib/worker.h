/*
 * worker.h — a worker rank serving tasks (worker.c).
 */
#ifndef MF_WORKER_H
#define MF_WORKER_H

#include "executor.h"

#include <stddef.h>

int mf__serve(mf_executor *ex);
/* Run one call of `fn` in this process (the initializer); its failure
 * message goes to err. */
int mf__run_once(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 char *err, size_t errlen);

#endif
