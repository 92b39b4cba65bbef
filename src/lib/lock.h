/*
 * lock.h — the library lock and the work deferred until it is dropped
 * (lock.c; the model is described there and in docs/internals.md).
 */
#ifndef MF_LOCK_H
#define MF_LOCK_H

#include <stdbool.h>

void mf__lock(void);
/* Drop one level; dropping the last level first runs the deferred work. */
void mf__unlock(void);
/* Run fn(arg) once the lock is dropped to depth 0 (lock held; FIFO). fn
 * is called with the lock held once and drops it around user code. */
int mf__defer(void (*fn)(void *), void *arg);
/* Around user code inside deferred work: drop / retake one level without
 * running deferred work. */
void mf__unlock_raw(void);
void mf__lock_raw(void);
/* Holding the lock once: run the deferred work now (drops the lock for
 * it), so callbacks see a completion before the next dispatch. */
void mf__run_deferred(void);
/* Would mf__run_deferred() run anything now? */
bool mf__deferred_ready(void);
/* Thread-local state on every lock and unlock: the initial-exec model
 * (a fixed offset from the thread pointer, no __tls_get_addr call in a
 * shared library) for these few bytes. */
#define MF_TLS _Thread_local __attribute__((tls_model("initial-exec")))
extern MF_TLS int mf__cb_depth;

#endif
