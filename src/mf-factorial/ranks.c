/*
 * ranks.c — rank identities and the "is it gone" test (see ranks.h).
 *
 * Design: /proc is read with plain open/read into fixed buffers (no
 * stdio, no allocation), since the watchdog thread calls rank_gone() 20
 * times a second while the main thread runs the phase.
 */
#define _POSIX_C_SOURCE 200809L

#include "ranks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <mpifutures.h>

#include "common.h"

static rank_id *g_ids; /* every rank's, indexed by world rank */
static int g_nranks;
/* Test hook MF_FACTORIAL_TEST_REMOTE=1: no rank can be checked, as if
 * each ran on another node. */
static int g_test_remote;

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    int err = errno;
    close(fd);
    errno = err;
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* State letter and start time of process `pid` from /proc (no stdio, no
 * allocation). Returns 0, or an errno value (ENOENT: no such process). */
static int proc_stat(int64_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return errno;
    char *p = strrchr(buf, ')'); /* the name may hold anything */
    if (p == NULL || p[1] != ' ')
        return EINVAL;
    p += 2;
    *state = *p;
    /* Field 3 is the state; the start time is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return EINVAL;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

static void self_id(rank_id *r)
{
    memset(r, 0, sizeof *r);
    r->pid = (int64_t)getpid();
    char st = 0;
    if (proc_stat(r->pid, &st, &r->start) != 0)
        r->start = 0;
    if (gethostname(r->host, sizeof r->host - 1) != 0)
        strcpy(r->host, "?");
    char boot[64], ns[64];
    ssize_t nb =
        read_small("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
    ssize_t nn = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (nb > 0 && nn > 0) {
        ns[nn] = '\0';
        boot[strcspn(boot, "\n")] = '\0';
        snprintf(r->node, sizeof r->node, "%s %s", boot, ns);
    } /* else: unknown, never compared */
}

void ranks_exchange(int size, int mpi)
{
    g_test_remote = env_long("MF_FACTORIAL_TEST_REMOTE") == 1;
    g_nranks = size;
    g_ids = calloc((size_t)size, sizeof *g_ids);
    rank_id me;
    self_id(&me);
    if (!mpi) { /* alone: no MPI, one rank */
        if (g_ids)
            g_ids[0] = me;
        return;
    }
    if (MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, g_ids ? g_ids : &me,
                      g_ids ? (int)sizeof me : 0, MPI_BYTE,
                      MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(g_ids);
        g_ids = NULL;
    }
}

int ranks_known(void)
{
    return g_ids != NULL;
}

int ranks_count(void)
{
    return g_nranks;
}

const rank_id *rank_of(int r)
{
    return &g_ids[r];
}

/* See ranks.h. */
int rank_gone(int r)
{
    const rank_id *me = &g_ids[g_rank], *x = &g_ids[r];
    if (me->node[0] == '\0' || strcmp(me->node, x->node) != 0)
        return -1;
    if (g_test_remote)
        return -1; /* test hook: every other rank "on another node" */
    char st = 0;
    uint64_t start = 0;
    int e = proc_stat(x->pid, &st, &start);
    if (e == ENOENT || e == ESRCH)
        return 1;
    if (e != 0)
        return -1;
    if (st == 'Z' || st == 'X' || st == 'x')
        return 1;
    if (x->start != 0 && start != x->start)
        return 1; /* the pid is another process's now */
    return 0;
}

void ranks_free(void)
{
    free(g_ids);
}
