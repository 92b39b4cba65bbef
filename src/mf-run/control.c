/*
 * control.c — the signals and the control channel (see control.h).
 *
 * Design: the handler only records the first signal; the loops see it
 * within their polling period (20 ms on a worker, 0.1 s on the root). The
 * root remembers to which ranks it has sent (g_ctrl_sent), so STOP then END
 * never sends a worker two messages: each worker receives exactly one.
 */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

volatile sig_atomic_t g_signal;
local_ctrl *g_local;
MPI_Comm g_ctrl = MPI_COMM_NULL;
static int g_ctrl_got; /* worker: the one control message came */
static int *g_ctrl_sent;

static void on_signal(int sig)
{
    if (!g_signal)
        g_signal = sig;
}

void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

const char *sig_name(int s)
{
    return s == SIGUSR1 ? "USR1" : s == SIGTERM ? "TERM" : "INT";
}

int ctrl_open(int nranks)
{
    if (nranks == 1) {
        g_local = mmap(NULL, sizeof *g_local, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (g_local == MAP_FAILED) {
            die_msg("cannot map a shared page: %s", strerror(errno));
            return -1;
        }
        atomic_init(&g_local->stop, 0);
        g_local->grace = 0;
    }
    if (g_mpi)
        MPI_Comm_dup(MPI_COMM_WORLD, &g_ctrl);
    return 0;
}

void ctrl_close(void)
{
    if (g_ctrl != MPI_COMM_NULL)
        MPI_Comm_free(&g_ctrl);
    if (g_local)
        munmap(g_local, sizeof *g_local);
}

void ctrl_root_begin(int nranks)
{
    g_ctrl_sent = calloc((size_t)nranks, sizeof *g_ctrl_sent);
}

void send_ctrl_all(int nranks, double grace)
{
    if (g_local) {
        if (grace >= 0 && !atomic_load(&g_local->stop)) {
            g_local->grace = grace;
            atomic_store_explicit(&g_local->stop, 1, memory_order_release);
        }
        return; /* END: the pool's close ends the workers */
    }
    for (int r = 1; r < nranks; r++)
        if (!g_ctrl_sent[r]) {
            MPI_Send(&grace, 1, MPI_DOUBLE, r, CTRL_TAG, g_ctrl);
            g_ctrl_sent[r] = 1;
        }
}

void ctrl_root_end(int nranks)
{
    send_ctrl_all(nranks, -1); /* END to those that got no STOP */
    free(g_ctrl_sent);
}

int ctrl_poll(double *grace)
{
    if (g_ctrl_got)
        return 0;
    if (g_local) {
        if (!atomic_load_explicit(&g_local->stop, memory_order_acquire))
            return 0;
        g_ctrl_got = 1;
        *grace = g_local->grace; /* a STOP: the page carries no END */
        return 1;
    }
    if (g_ctrl == MPI_COMM_NULL)
        return 0;
    int flag = 0;
    MPI_Iprobe(0, CTRL_TAG, g_ctrl, &flag, MPI_STATUS_IGNORE);
    if (!flag)
        return 0;
    MPI_Recv(grace, 1, MPI_DOUBLE, 0, CTRL_TAG, g_ctrl, MPI_STATUS_IGNORE);
    g_ctrl_got = 1;
    return 1;
}

void ctrl_wait_end(void)
{
    if (g_ctrl_got || g_local)
        return;
    double grace;
    MPI_Recv(&grace, 1, MPI_DOUBLE, 0, CTRL_TAG, g_ctrl, MPI_STATUS_IGNORE);
}
