/*
 * control.h — how a run stops: the signals mf-run catches, and its own
 * control channel from the root to the workers.
 *
 * The channel carries exactly one message from the root to each worker:
 * STOP(grace) when the run is interrupted or halted, else END after the
 * executor closed. Under a launcher it is a duplicate of MPI_COMM_WORLD
 * (mf-run's own, not the library's), tag CTRL_TAG; a run alone has no
 * MPI: its workers are processes forked by the library at open, and the
 * root's STOP reaches them through a shared page (mapped before the
 * open, so they inherit it). END needs no message there: the pool's
 * close ends the workers.
 *
 * Design: a signal is only recorded (g_signal); the root's loop and the
 * worker's batch loop look at it and at the channel between their other
 * steps, so nothing but a flag is touched in a handler, and the same
 * stop path serves a signal, --halt and a STOP message.
 */
#ifndef MF_RUN_CONTROL_H
#define MF_RUN_CONTROL_H

#include <signal.h>

#include <mpifutures.h>

#define CTRL_TAG 7301

/* The shared page of a run alone. */
typedef struct local_ctrl {
    _Atomic int stop; /* 1: STOP, grace below */
    double grace;
} local_ctrl;

extern volatile sig_atomic_t g_signal; /* signal number that came */
extern local_ctrl *g_local;            /* a run alone: the shared page */
extern MPI_Comm g_ctrl;                /* under a launcher: the channel */

/* Record SIGUSR1, SIGTERM and SIGINT in g_signal (the first one). */
void catch_signals(void);

/* "USR1", "TERM" or "INT". */
const char *sig_name(int s);

/* Every rank, before the executor's open: the shared page when there is
 * one rank, the channel when MPI runs. 0, or -1 (message printed). */
int ctrl_open(int nranks);

/* Every rank, at the end: free the channel and the page. */
void ctrl_close(void);

/* Root: send STOP(grace), or END (grace < 0), to each worker that got
 * no message yet. ctrl_root_begin before the first, ctrl_root_end (END
 * to the rest) after the executor closed. */
void ctrl_root_begin(int nranks);
void send_ctrl_all(int nranks, double grace);
void ctrl_root_end(int nranks);

/* Worker: 1 and *grace when the root's message came now (grace < 0:
 * END), else 0; the message is taken once. */
int ctrl_poll(double *grace);

/* Worker rank, after the executor closed: wait for the root's message
 * unless it came already (none to wait for in a run alone). */
void ctrl_wait_end(void);

#endif
