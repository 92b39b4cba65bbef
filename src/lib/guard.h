/*
 * guard.h — closing what a root left open at MPI_Finalize() or exit
 * (guard.c).
 */
#ifndef MF_GUARD_H
#define MF_GUARD_H

/* Install the hooks (root, first open; idempotent). */
void mf__guard_install(void);

#endif
