/*
 * ranks.h — who every rank is (pid, start time, node), and whether a
 * rank's process is gone.
 *
 * When a rank dies, the launcher ends the job: Open MPI's mpirun sends
 * SIGTERM to the other ranks, then SIGKILL. With the signal handling on,
 * the root would take that SIGTERM for a walltime warning, wait through
 * the grace period for tasks that can never finish, and be killed. The
 * library cannot tell (it sees no MPI error before the SIGTERM). So every
 * rank tells the others who it is (ranks_exchange), and the watchdog
 * (watchdog.h) asks rank_gone() about the ranks on its own node.
 *
 * Design: a process is named by pid and start time, so a new process
 * under a reused pid is not taken for the old one; "same node" is the
 * boot id plus the pid namespace, so containers on one host that cannot
 * see each other's /proc are never compared.
 */
#ifndef MF_FACTORIAL_RANKS_H
#define MF_FACTORIAL_RANKS_H

#include <stdint.h>

typedef struct rank_id {
    int64_t pid;
    uint64_t start; /* start time (clock ticks after boot), 0 unknown */
    char node[128]; /* boot id + pid namespace: same node and pid space */
    char host[64];
} rank_id;

/* Every rank, collectively: tell the others who this one is. On failure
 * nothing is known (ranks_known() is 0) and no rank is watched. */
void ranks_exchange(int size, int mpi); /* mpi 0: alone, no MPI */

/* Whether ranks_exchange() succeeded. */
int ranks_known(void);

/* Number of ranks, and rank r's identity (ranks_known() only). */
int ranks_count(void);
const rank_id *rank_of(int r);

/* 1: rank r's process is gone; 0: it runs; -1: cannot tell from here. */
int rank_gone(int r);

void ranks_free(void);

#endif
