/*
 * job.c — one command on a worker (see job.h): the spawn, the capture
 * of its output, its end, its kill.
 *
 * Design: job_start is a sequence of named steps (the capture files, the
 * environment, the spawn's attributes, the program and its words, the
 * spawn itself). A command whose capture files cannot be opened or whose
 * spawn fails becomes a failed command (exit status 127, the reason as
 * its stderr), not an error of the batch: the root logs it (and retries
 * it under --retries), and the other commands run on.
 * A command's status says why it ended; a signal of the batch system
 * that reached the command too (Slurm signals every process of a step)
 * makes it interrupted, not failed, so a resume runs it again.
 */
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "control.h"
#include "direct.h"

extern char **environ;

/* A capture file of j: DIR/<id>.out/.err with --output, else an unlinked
 * temporary file (O_TMPFILE, or mkostemp and unlink where the file
 * system has no O_TMPFILE). */
static int open_capture(const job *j, int err, const wsettings *set)
{
    if (set->outdir_mode) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%llu.%s", set->outdir,
                 (unsigned long long)j->id, err ? "err" : "out");
        return open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/mf-run.XXXXXX", tmp);
    fd = mkostemp(p, O_CLOEXEC);
    if (fd >= 0)
        unlink(p);
    return fd;
}

static void set_env(char **envp, size_t *n, const char *name, const char *fmt,
                    ...) MF_PRINTF(4, 5);
static void set_env(char **envp, size_t *n, const char *name, const char *fmt,
                    ...)
{
    char val[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    size_t ln = strlen(name), lv = strlen(val);
    char *s = xmalloc(ln + lv + 2);
    memcpy(s, name, ln);
    s[ln] = '=';
    memcpy(s + ln + 1, val, lv + 1);
    envp[(*n)++] = s;
}

/* The command's environment: ours without any MF_TASK_* variable, then
 * its own MF_TASK_* (from index *first on: env_free frees those). */
static char **job_env(const job *j, int slot, size_t *first)
{
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **envp = xmalloc((ne + 6) * sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MF_TASK_", 8) != 0)
            envp[k++] = environ[i];
    *first = k;
    set_env(envp, &k, "MF_TASK_ID", "%llu", (unsigned long long)j->id);
    set_env(envp, &k, "MF_TASK_ATTEMPT", "%u", j->attempt);
    set_env(envp, &k, "MF_TASK_RANK", "%d", g_rank);
    set_env(envp, &k, "MF_TASK_HOST", "%s", g_host);
    set_env(envp, &k, "MF_TASK_SLOT", "%d", slot);
    envp[k] = NULL;
    return envp;
}

static void env_free(char **envp, size_t first)
{
    for (size_t i = first; envp[i]; i++)
        free(envp[i]);
    free(envp);
}

/* The child's process group (its own), signals (none blocked; TERM,
 * INT, PIPE and CHLD at their default), stdin, output and directory. */
static void spawn_setup(posix_spawnattr_t *at, posix_spawn_file_actions_t *fa,
                        const job *j, const wsettings *set)
{
    posix_spawnattr_init(at);
    posix_spawn_file_actions_init(fa);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGCHLD);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &def);
    posix_spawnattr_setpgroup(at, 0);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
                                     POSIX_SPAWN_SETSIGMASK |
                                     POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(fa, j->outfd, 1);
    posix_spawn_file_actions_adddup2(fa, j->errfd, 2);
    posix_spawn_file_actions_addchdir_np(fa, set->workdir);
    /* MPI's own descriptors stay out of the command's processes. */
    posix_spawn_file_actions_addclosefrom_np(fa, 3);
}

/* The program to start and its argv: the command's own words (direct.h;
 * in *words, to free) or /bin/sh -c CMD. */
static const char *job_argv(const job *j, const wsettings *set, char **argv,
                            char **words, char *path)
{
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)j->cmd;
    argv[3] = NULL;
    *words = NULL;
    if (set->always_shell || j->len >= 4096)
        return "/bin/sh";
    *words = xmalloc(j->len + 1);
    if (plain_words(j->cmd, *words, j->len + 1, argv) &&
        find_program(argv[0], set->workdir, path))
        return path;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)j->cmd;
    argv[3] = NULL;
    return "/bin/sh";
}

/* posix_spawn with SIGUSR1 ignored in the child: srun and Slurm send a
 * walltime warning to every process of the step, and it is for mf-run
 * (which then gives the command its grace), not for the command.
 * Ignored dispositions survive exec; SIGUSR1 is blocked meanwhile (one
 * arriving in these microseconds is lost on this worker, but the root
 * got it too and sends STOP). */
static int spawn_no_usr1(pid_t *pid, const char *prog,
                         const posix_spawn_file_actions_t *fa,
                         const posix_spawnattr_t *at, char **argv,
                         char **envp)
{
    sigset_t u1, oldmask;
    sigemptyset(&u1);
    sigaddset(&u1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &u1, &oldmask);
    struct sigaction ign, oldact;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGUSR1, &ign, &oldact);
    int rc = posix_spawn(pid, prog, fa, at, argv, envp);
    sigaction(SIGUSR1, &oldact, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    return rc;
}

/* Spawn j's command (its capture files open): 0, or an errno value. */
static int job_spawn(job *j, int slot, const wsettings *set)
{
    size_t first;
    char **envp = job_env(j, slot, &first);
    posix_spawnattr_t at;
    posix_spawn_file_actions_t fa;
    spawn_setup(&at, &fa, j, set);
    char *argv[DIRECT_MAX_WORDS + 1];
    char *words, path[PATH_MAX];
    const char *prog = job_argv(j, set, argv, &words, path);
    int rc = spawn_no_usr1(&j->pid, prog, &fa, &at, argv, envp);
    free(words);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    env_free(envp, first);
    return rc;
}

/* Could not start: a failed command with exit status 127 and the reason
 * (errbuf) as its stderr. */
static void job_not_started(job *j, const char *errbuf)
{
    j->state = 2;
    j->r.status = ST_FAILED;
    j->r.exitval = 127;
    size_t n = strlen(errbuf);
    j->inl = xmalloc(n);
    memcpy(j->inl, errbuf, n);
    j->r.inl_err = (uint32_t)n;
    j->r.errbytes = n;
    if (j->outfd >= 0)
        close(j->outfd);
    if (j->errfd >= 0)
        close(j->errfd);
    j->outfd = j->errfd = -1;
}

void job_start(job *j, int slot, const wsettings *set)
{
    memset(&j->r, 0, sizeof j->r);
    j->r.id = j->id;
    j->r.attempt = j->attempt;
    j->r.slot = (uint32_t)slot;
    j->r.start = wall_now();
    j->t0 = mono_now();
    j->deadline = set->timeout > 0 ? j->t0 + set->timeout : 0;
    j->kill_at = 0;
    j->timed_out = j->stopped = 0;
    j->pidfd = -1;
    j->pid = -1;
    j->state = 1;
    j->outfd = open_capture(j, 0, set);
    j->errfd = open_capture(j, 1, set);
    char errbuf[256] = "";
    if (j->outfd < 0 || j->errfd < 0) {
        snprintf(errbuf, sizeof errbuf,
                 "mf-run: cannot open the output of task %llu: %s\n",
                 (unsigned long long)j->id, strerror(errno));
        job_not_started(j, errbuf);
        return;
    }
    int rc = job_spawn(j, slot, set);
    if (rc == 0) {
        j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
        return;
    }
    j->pid = -1;
    snprintf(errbuf, sizeof errbuf,
             "mf-run: cannot start /bin/sh for task %llu: %s\n",
             (unsigned long long)j->id, strerror(rc));
    job_not_started(j, errbuf);
}

/* Copy `size` bytes of fd to spilldir/<id>.<attempt>.<ext> in chunks. */
static int spill_copy(const job *j, int fd, uint64_t size, const char *ext,
                      const wsettings *set)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%llu.%u.%s", set->spilldir,
             (unsigned long long)j->id, j->attempt, ext);
    int o = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (o < 0)
        return -1;
    char *buf = xmalloc(CHUNK);
    uint64_t off = 0;
    int rc = 0;
    while (off < size) {
        ssize_t r = pread(fd, buf, CHUNK, (off_t)off);
        if (r <= 0) {
            rc = -1;
            break;
        }
        if (write_all(o, buf, (size_t)r) != 0) {
            rc = -1;
            break;
        }
        off += (uint64_t)r;
    }
    free(buf);
    if (close(o) != 0)
        rc = -1;
    return rc;
}

/* The output's sizes and, without --output, its inline part or its
 * spill; the capture files are closed. */
static void job_collect_output(job *j, const wsettings *set)
{
    uint64_t sz[2] = {0, 0};
    int fds[2] = {j->outfd, j->errfd};
    for (int s = 0; s < 2; s++) {
        struct stat st;
        if (fstat(fds[s], &st) == 0)
            sz[s] = (uint64_t)st.st_size;
    }
    j->r.outbytes = sz[0];
    j->r.errbytes = sz[1];
    if (!set->outdir_mode) {
        uint32_t inl[2] = {0, 0};
        for (int s = 0; s < 2; s++) {
            if (sz[s] <= set->inline_max)
                inl[s] = (uint32_t)sz[s];
            else if (spill_copy(j, fds[s], sz[s], s ? "err" : "out", set) ==
                     0)
                j->r.spilled |= 1u << s;
            else
                inl[s] = set->inline_max; /* spill failed: truncated */
        }
        j->inl = xmalloc((size_t)inl[0] + inl[1]);
        for (int s = 0; s < 2; s++) {
            char *dst = j->inl + (s ? inl[0] : 0);
            size_t got = 0;
            while (got < inl[s]) {
                ssize_t r =
                    pread(fds[s], dst + got, inl[s] - got, (off_t)got);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            inl[s] = (uint32_t)got;
        }
        j->r.inl_out = inl[0];
        j->r.inl_err = inl[1];
    }
    close(j->outfd);
    close(j->errfd);
    j->outfd = j->errfd = -1;
}

void job_finish(job *j, int wstatus, const wsettings *set)
{
    j->r.runtime = mono_now() - j->t0;
    /* The main child is gone: nothing of its group may outlive it. */
    kill(-j->pid, SIGKILL);
    if (j->pidfd >= 0)
        close(j->pidfd);
    j->pidfd = -1;
    if (WIFEXITED(wstatus)) {
        j->r.exitval = WEXITSTATUS(wstatus);
        j->r.status = j->r.exitval == 0 ? ST_OK : ST_FAILED;
    } else if (WIFSIGNALED(wstatus)) {
        j->r.sig = WTERMSIG(wstatus);
        j->r.exitval = -1;
        j->r.status = ST_SIGNAL;
    }
    if (j->timed_out)
        j->r.status = ST_TIMEOUT;
    else if (j->stopped)
        j->r.status = ST_INTERRUPTED;
    else if (g_signal && (j->r.sig == SIGTERM || j->r.sig == SIGINT ||
                          j->r.sig == SIGUSR1))
        /* the batch system's signal reached the command too (Slurm
         * signals every process of a step): not the command's failure;
         * it runs again on resume */
        j->r.status = ST_INTERRUPTED;
    job_collect_output(j, set);
    j->state = 2;
}

void job_kill(job *j, double now)
{
    if (j->kill_at == 0) {
        kill(-j->pid, SIGTERM);
        j->kill_at = now + 1.0;
    } else if (now >= j->kill_at) {
        kill(-j->pid, SIGKILL);
        j->kill_at = now + 3600;
    }
}
