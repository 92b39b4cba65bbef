/*
 * progress.h — the root's progress engine and the list of open executors
 * (progress.c).
 */
#ifndef MF_PROGRESS_H
#define MF_PROGRESS_H

#include "executor.h"

/* Root: put a set-up executor to work (open list, signals, progress
 * thread). MF_ENOMEM when the progress thread cannot start: the
 * executor is then open but idle, and the caller must close it. */
int mf__ex_start(mf_executor *ex);
/* An executor still open in this process, or NULL. */
mf_executor *mf__ex_any_open(void);
/* Take a closing executor off the list of open ones (lock held). */
void mf__ex_unlink(mf_executor *ex);
/* Stop the progress thread of `ex`, if any (lock held; dropped while
 * joining). */
void mf__stop_thread(mf_executor *ex);

#endif
