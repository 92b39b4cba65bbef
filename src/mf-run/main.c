/*
 * mf-run: a command-line task farm on mpifutures (issue 14). Shell
 * commands from a task file, stdin or `CMD ::: VALUES` run on the worker
 * ranks, GNU-parallel style, with a job log, resume, retries, timeouts and
 * walltime handling. A program on the public API only, like any user's.
 *
 * Design. The library runs one task at a time per worker rank, in the
 * thread that opened the executor, and a submit cannot choose its rank.
 * So `--slots N` cannot be N library tasks in flight on one worker: one
 * library task is a *batch* of up to N commands, which the worker runs at
 * once, one child per slot, and returns when the last of them has ended
 * (a per-command record each: status, times, output). The executor's
 * window keeps the next batches queued on each worker, so no slot waits
 * for a round trip between batches; the cost is that a slot that finishes
 * early in a batch idles until the batch's slowest command ends (uneven
 * commands under --slots > 1 lose up to max-minus-mean per batch; with
 * --slots 1 there is no loss). Each command is started with posix_spawn
 * (vfork-like: the MPI process is not copied) as `/bin/sh -c CMD` in a
 * new process group, stdin /dev/null, its stdout/stderr going to two
 * unlinked temporary files on the worker (or to DIR/<id>.out/.err with
 * --output): no pipes, so a background child that keeps the output open
 * never wedges a slot. The worker waits for the main child only (pidfd +
 * poll), then kills its process group (SIGKILL), so no process outlives
 * its task. Timeouts and the stop after a signal are enforced on the
 * worker (SIGTERM to the group, SIGKILL 1 s later). Output up to 256 KiB
 * per stream travels in the batch's result; a larger one is copied by the
 * worker in 64 KiB chunks to a spill directory in the submit directory
 * (a shared file system, as on clusters) and the root streams it to its
 * stdout in 64 KiB chunks, so neither side holds more than a few MiB.
 * A small control channel of mf-run's own (a duplicate of
 * MPI_COMM_WORLD, not the library's) carries exactly one message from
 * the root to each worker: STOP(grace) when the run is interrupted or
 * halted, else END after the executor closed. The root reads its input
 * as it dispatches (a bounded number of batches outstanding), so 10^6
 * lines never sit in memory; files (not stdin) are checked in a first
 * streaming pass, so bad input is refused before any task runs.
 */
#define _GNU_SOURCE
#include <mpifutures.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EX_BADINPUT 2
#define EX_INTERRUPTED 5
#define EX_INTERNAL 255
#define MAX_CMD 131071 /* Linux MAX_ARG_STRLEN - 1: one sh -c argument */
#define INLINE_MAX (256u * 1024u)
#define CHUNK 65536
#define CTRL_TAG 7301
#define MAX_SLOTS 1024

/* ---- small helpers ------------------------------------------------- */

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die_msg(const char *fmt, ...) MF_PRINTF(1, 2);
static void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mf-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        die_msg("out of memory (%zu bytes)", n);
        exit(EX_INTERNAL);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        die_msg("out of memory (%zu bytes)", n);
        exit(EX_INTERNAL);
    }
    return q;
}

/* FNV-1a, 64 bits: the digest of a command text in the job log. */
static uint64_t digest(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int parse_uint(const char *s, unsigned long long max,
                      unsigned long long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0) || v > 49.0 * 86400)
        return -1;
    *out = v;
    return 0;
}

/* ---- what the root tells the workers once (initializer argument) --- */

typedef struct wsettings {
    double timeout; /* per command, 0: none */
    double grace;   /* after a stop, before the kill */
    uint32_t inline_max;
    uint32_t outdir_mode;  /* 1: output to outdir/<id>.out/.err */
    uint32_t always_shell; /* 1: no direct start of plain commands */
    char workdir[PATH_MAX];
    char outdir[PATH_MAX];
    char spilldir[PATH_MAX];
} wsettings;

/* One finished command, as the worker returns it (followed by inl_out
 * then inl_err bytes). */
enum { ST_OK, ST_FAILED, ST_SIGNAL, ST_TIMEOUT, ST_INTERRUPTED, ST_NOTRUN };
static const char *const st_name[] = {"ok",      "failed",      "signal",
                                      "timeout", "interrupted", "notrun"};

typedef struct rrec {
    uint64_t id;
    uint32_t attempt, status;
    int32_t exitval, sig;
    double start, runtime;
    uint64_t outbytes, errbytes;
    uint32_t inl_out, inl_err, slot, spilled; /* spilled: 1 out, 2 err */
} rrec;

typedef struct rhead {
    int32_t rank;
    uint32_t n;
    char host[64];
} rhead;

typedef struct ahead { /* one command of a batch argument */
    uint64_t id;
    uint32_t attempt, len;
} ahead;

/* ---- worker side --------------------------------------------------- */

static wsettings g_set;
static int g_rank;
static char g_host[64];
static MPI_Comm g_ctrl = MPI_COMM_NULL;
/* Started by an MPI launcher (else alone: MPI is never initialised). */
static int g_mpi = 1;
/* A run alone: the workers are processes forked by the library at open;
 * the root's STOP reaches them through this shared page (mapped before
 * the open, so they inherit it) instead of g_ctrl. */
typedef struct local_ctrl {
    _Atomic int stop; /* 1: STOP, grace below */
    double grace;
} local_ctrl;
static local_ctrl *g_local;
static volatile sig_atomic_t g_signal; /* signal number that came */
static int g_ctrl_got;                 /* the one control message came */
static int g_stopping;                 /* stop: no new command */
static double g_stop_at;               /* mono time of the stop */
static double g_stop_grace;

static void on_signal(int sig)
{
    if (!g_signal)
        g_signal = sig;
}

static void catch_signals(void)
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

/* Notice a signal or the root's STOP (or END) message. */
static void worker_check_stop(void)
{
    if (g_local && !g_ctrl_got &&
        atomic_load_explicit(&g_local->stop, memory_order_acquire)) {
        g_ctrl_got = 1;
        if (!g_stopping) {
            g_stopping = 1;
            g_stop_at = mono_now();
            g_stop_grace = g_local->grace;
        }
    }
    if (!g_local && !g_ctrl_got && g_ctrl != MPI_COMM_NULL) {
        int flag = 0;
        MPI_Iprobe(0, CTRL_TAG, g_ctrl, &flag, MPI_STATUS_IGNORE);
        if (flag) {
            double grace;
            MPI_Recv(&grace, 1, MPI_DOUBLE, 0, CTRL_TAG, g_ctrl,
                     MPI_STATUS_IGNORE);
            g_ctrl_got = 1;
            if (grace >= 0 && !g_stopping) {
                g_stopping = 1;
                g_stop_at = mono_now();
                g_stop_grace = grace;
            }
        }
    }
    if (g_signal && !g_stopping) {
        g_stopping = 1;
        g_stop_at = mono_now();
        g_stop_grace = g_set.grace;
    }
}

static int task_init(mf_task *task, void *ud)
{
    (void)ud;
    size_t len;
    const void *a = mf_task_arg(task, &len);
    if (len != sizeof g_set)
        return mf_task_fail(task, "mf-run: bad settings (%zu bytes)", len);
    memcpy(&g_set, a, sizeof g_set);
    if (g_local) {
        /* A worker process of a run alone: the library reset its signal
         * handlers; it stops as a worker rank does (a Ctrl-C reaches the
         * whole foreground group), and its rank is its pool number. */
        g_rank = mf_task_worker(task);
        catch_signals();
    }
    return 0;
}

typedef struct job {
    const char *cmd;
    uint64_t id;
    uint32_t attempt, len;
    pid_t pid;
    int pidfd, outfd, errfd;
    int state; /* 0 waiting, 1 running, 2 done */
    int timed_out, stopped;
    double t0, deadline, kill_at;
    rrec r;
    char *inl;
} job;

static int open_capture(const job *j, int err)
{
    if (g_set.outdir_mode) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%llu.%s", g_set.outdir,
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

/* The fast path: a command made only of plain words (letters, digits,
 * _-./,:=+@%^ separated by spaces; the first word without '=') whose
 * first word is a program (an ELF binary or a #! script) and not a shell
 * builtin or keyword is started directly, without /bin/sh: the same
 * result (the shell would split the words the same way and exec the
 * program), without the shell's start-up (about 1 ms here). Builtins
 * whose external twins may differ (echo, printf, pwd, test) go through
 * the shell. */
static const char *const sh_builtin[] = {
    ".",        ":",       "[",        "alias",  "bg",      "break",
    "cd",       "command", "continue", "echo",   "eval",    "exec",
    "exit",     "export",  "fc",       "fg",     "getopts", "hash",
    "jobs",     "kill",    "local",    "printf", "pwd",     "read",
    "readonly", "return",  "set",      "shift",  "source",  "test",
    "times",    "trap",    "type",     "ulimit", "umask",   "unalias",
    "unset",    "wait",    "if",       "then",   "else",    "elif",
    "fi",       "case",    "esac",     "for",    "while",   "until",
    "do",       "done",    "function", "select", "time",    "{",
    "}",        "!",       NULL};

#define DIRECT_MAX_WORDS 64

typedef struct prog_cache {
    char word[256];
    char path[PATH_MAX];
    int ok;
} prog_cache;

static prog_cache g_pcache[8];
static unsigned g_pcache_next;

static int is_program(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(path, X_OK) != 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char m[4] = {0, 0, 0, 0};
    ssize_t r = read(fd, m, sizeof m);
    close(fd);
    if (r >= 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F')
        return 1;
    return r >= 2 && m[0] == '#' && m[1] == '!';
}

/* The program `word` names, as the shell would find it; 0 if none. */
static int find_program(const char *word, char *out)
{
    if (strchr(word, '/')) {
        int k;
        if (word[0] == '/')
            k = snprintf(out, PATH_MAX, "%s", word);
        else
            k = snprintf(out, PATH_MAX, "%s/%s", g_set.workdir, word);
        return k > 0 && k < PATH_MAX && is_program(out);
    }
    if (strlen(word) >= sizeof g_pcache[0].word)
        return 0;
    for (unsigned i = 0; i < 8; i++)
        if (strcmp(g_pcache[i].word, word) == 0) {
            snprintf(out, PATH_MAX, "%s", g_pcache[i].path);
            return g_pcache[i].ok;
        }
    int ok = 0;
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/local/bin:/usr/bin:/bin";
    while (!ok) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int k = n ? snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, word)
                  : snprintf(out, PATH_MAX, "%s/%s", g_set.workdir, word);
        if (k > 0 && k < PATH_MAX && is_program(out))
            ok = 1;
        if (!e)
            break;
        p = e + 1;
    }
    prog_cache *c = &g_pcache[g_pcache_next++ % 8];
    snprintf(c->word, sizeof c->word, "%s", word);
    snprintf(c->path, sizeof c->path, "%s", ok ? out : "");
    c->ok = ok;
    return ok;
}

/* Split a plain command into argv (in buf); 0 if it needs the shell. */
static int plain_words(const char *cmd, char *buf, size_t cap, char **argv)
{
    size_t n = strlen(cmd);
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)cmd[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || strchr("_-./,:=+@%^", c)))
            return 0;
    }
    memcpy(buf, cmd, n + 1);
    int argc = 0;
    char *p = buf;
    while (*p) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        if (argc == DIRECT_MAX_WORDS)
            return 0;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    argv[argc] = NULL;
    if (argc == 0 || strchr(argv[0], '='))
        return 0;
    for (int i = 0; sh_builtin[i]; i++)
        if (strcmp(argv[0], sh_builtin[i]) == 0)
            return 0;
    return argc;
}

static void job_start(job *j, int slot)
{
    memset(&j->r, 0, sizeof j->r);
    j->r.id = j->id;
    j->r.attempt = j->attempt;
    j->r.slot = (uint32_t)slot;
    j->r.start = wall_now();
    j->t0 = mono_now();
    j->deadline = g_set.timeout > 0 ? j->t0 + g_set.timeout : 0;
    j->kill_at = 0;
    j->timed_out = j->stopped = 0;
    j->pidfd = -1;
    j->pid = -1;
    j->state = 1;
    j->outfd = open_capture(j, 0);
    j->errfd = open_capture(j, 1);
    char errbuf[256] = "";
    if (j->outfd < 0 || j->errfd < 0) {
        snprintf(errbuf, sizeof errbuf,
                 "mf-run: cannot open the output of task %llu: %s\n",
                 (unsigned long long)j->id, strerror(errno));
    } else {
        size_t ne = 0;
        while (environ[ne])
            ne++;
        char **envp = xmalloc((ne + 6) * sizeof *envp);
        size_t k = 0;
        for (size_t i = 0; i < ne; i++)
            if (strncmp(environ[i], "MF_TASK_", 8) != 0)
                envp[k++] = environ[i];
        size_t first = k;
        set_env(envp, &k, "MF_TASK_ID", "%llu", (unsigned long long)j->id);
        set_env(envp, &k, "MF_TASK_ATTEMPT", "%u", j->attempt);
        set_env(envp, &k, "MF_TASK_RANK", "%d", g_rank);
        set_env(envp, &k, "MF_TASK_HOST", "%s", g_host);
        set_env(envp, &k, "MF_TASK_SLOT", "%d", slot);
        envp[k] = NULL;

        posix_spawnattr_t at;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_init(&at);
        posix_spawn_file_actions_init(&fa);
        sigset_t none, def;
        sigemptyset(&none);
        sigemptyset(&def);
        sigaddset(&def, SIGTERM);
        sigaddset(&def, SIGINT);
        sigaddset(&def, SIGPIPE);
        sigaddset(&def, SIGCHLD);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &def);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                          POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, j->outfd, 1);
        posix_spawn_file_actions_adddup2(&fa, j->errfd, 2);
        posix_spawn_file_actions_addchdir_np(&fa, g_set.workdir);
        /* MPI's own descriptors stay out of the command's processes. */
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        char *argv[DIRECT_MAX_WORDS + 1] = {"/bin/sh", "-c", (char *)j->cmd,
                                            NULL};
        const char *prog = "/bin/sh";
        char *words = NULL, path[PATH_MAX];
        if (!g_set.always_shell && j->len < 4096) {
            words = xmalloc(j->len + 1);
            if (plain_words(j->cmd, words, j->len + 1, argv) &&
                find_program(argv[0], path)) {
                prog = path;
            } else {
                argv[0] = "/bin/sh";
                argv[1] = "-c";
                argv[2] = (char *)j->cmd;
                argv[3] = NULL;
            }
        }
        /* The command starts with SIGUSR1 ignored: srun and Slurm send a
         * walltime warning to every process of the step, and it is for
         * mf-run (which then gives the command its grace), not for the
         * command. Ignored dispositions survive exec; SIGUSR1 is blocked
         * meanwhile (one arriving in these microseconds is lost on this
         * worker, but the root got it too and sends STOP). */
        sigset_t u1, oldmask;
        sigemptyset(&u1);
        sigaddset(&u1, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &u1, &oldmask);
        struct sigaction ign, oldact;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGUSR1, &ign, &oldact);
        int rc = posix_spawn(&j->pid, prog, &fa, &at, argv, envp);
        free(words);
        sigaction(SIGUSR1, &oldact, NULL);
        pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        for (size_t i = first; i < k; i++)
            free(envp[i]);
        free(envp);
        if (rc == 0) {
            j->pidfd = (int)syscall(SYS_pidfd_open, j->pid, 0);
            return;
        }
        j->pid = -1;
        snprintf(errbuf, sizeof errbuf,
                 "mf-run: cannot start /bin/sh for task %llu: %s\n",
                 (unsigned long long)j->id, strerror(rc));
    }
    /* Could not start: a failed command with exit status 127 and the
     * reason as its stderr. */
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

/* Copy `size` bytes of fd to spilldir/<id>.<attempt>.<ext> in chunks. */
static int spill_copy(const job *j, int fd, uint64_t size, const char *ext)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%llu.%u.%s", g_set.spilldir,
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

static void job_collect_output(job *j)
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
    if (!g_set.outdir_mode) {
        uint32_t inl[2] = {0, 0};
        for (int s = 0; s < 2; s++) {
            if (sz[s] <= g_set.inline_max)
                inl[s] = (uint32_t)sz[s];
            else if (spill_copy(j, fds[s], sz[s], s ? "err" : "out") == 0)
                j->r.spilled |= 1u << s;
            else
                inl[s] = g_set.inline_max; /* spill failed: truncated */
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

static void job_finish(job *j, int wstatus)
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
    job_collect_output(j);
    j->state = 2;
}

static void job_kill(job *j, double now)
{
    if (j->kill_at == 0) {
        kill(-j->pid, SIGTERM);
        j->kill_at = now + 1.0;
    } else if (now >= j->kill_at) {
        kill(-j->pid, SIGKILL);
        j->kill_at = now + 3600;
    }
}

static int task_batch(mf_task *task, void *ud)
{
    (void)ud;
    size_t len;
    const char *a = mf_task_arg(task, &len);
    uint32_t n;
    if (len < 4)
        return mf_task_fail(task, "mf-run: short batch");
    memcpy(&n, a, 4);
    if (n == 0 || n > MAX_SLOTS * 4u)
        return mf_task_fail(task, "mf-run: bad batch of %u", n);
    job *jobs = calloc(n, sizeof *jobs);
    if (!jobs)
        return mf_task_fail(task, "mf-run: out of memory");
    size_t off = 4;
    for (uint32_t i = 0; i < n; i++) {
        ahead h;
        if (off + sizeof h > len)
            break;
        memcpy(&h, a + off, sizeof h);
        off += sizeof h;
        if (off + h.len + 1 > len || a[off + h.len] != 0) {
            free(jobs);
            return mf_task_fail(task, "mf-run: malformed batch");
        }
        jobs[i].id = h.id;
        jobs[i].attempt = h.attempt;
        jobs[i].len = h.len;
        jobs[i].cmd = a + off; /* NUL-terminated by the root */
        jobs[i].outfd = jobs[i].errfd = jobs[i].pidfd = -1;
        off += h.len + 1;
    }
    uint32_t slots = n; /* a batch is at most --slots commands */
    int *slot_of = xmalloc(n * sizeof *slot_of);
    char *slot_busy = calloc(slots, 1);
    struct pollfd *pf = xmalloc(n * sizeof *pf);
    uint32_t next = 0, ndone = 0, nrun = 0;
    while (ndone < n) {
        worker_check_stop();
        double now = mono_now();
        if (g_stopping) {
            for (; next < n; next++) {
                jobs[next].state = 2;
                memset(&jobs[next].r, 0, sizeof jobs[next].r);
                jobs[next].r.id = jobs[next].id;
                jobs[next].r.attempt = jobs[next].attempt;
                jobs[next].r.status = ST_NOTRUN;
                ndone++;
            }
        }
        while (next < n && nrun < slots) {
            int s = 0;
            while (slot_busy[s])
                s++;
            job_start(&jobs[next], s);
            if (jobs[next].state == 2) {
                ndone++;
            } else {
                slot_busy[s] = 1;
                slot_of[next] = s;
                nrun++;
            }
            next++;
        }
        if (nrun == 0)
            continue;
        /* Sleep until a child ends, a deadline, or 20 ms (to look at the
         * control channel). */
        double wake = now + 0.02;
        nfds_t np = 0;
        int polling = 1;
        for (uint32_t i = 0; i < next; i++) {
            job *j = &jobs[i];
            if (j->state != 1)
                continue;
            if (j->pidfd >= 0) {
                pf[np].fd = j->pidfd;
                pf[np].events = POLLIN;
                pf[np].revents = 0;
                np++;
            } else {
                polling = 0;
            }
            if (j->deadline > 0 && j->deadline < wake)
                wake = j->deadline;
            if (j->kill_at > 0 && j->kill_at < wake)
                wake = j->kill_at;
        }
        if (g_stopping && g_stop_at + g_stop_grace < wake)
            wake = g_stop_at + g_stop_grace;
        if (!polling && wake > now + 0.001)
            wake = now + 0.001; /* no pidfd: poll waitpid every ms */
        int ms = (int)((wake - now) * 1000.0 + 0.999);
        if (ms < 0)
            ms = 0;
        poll(pf, np, ms);
        now = mono_now();
        for (uint32_t i = 0; i < next; i++) {
            job *j = &jobs[i];
            if (j->state != 1)
                continue;
            int ws;
            pid_t r = waitpid(j->pid, &ws, WNOHANG);
            if (r == j->pid) {
                job_finish(j, ws);
                slot_busy[slot_of[i]] = 0;
                nrun--;
                ndone++;
                continue;
            }
            if (j->deadline > 0 && now >= j->deadline) {
                j->timed_out = 1;
                job_kill(j, now);
            } else if (g_stopping && now >= g_stop_at + g_stop_grace) {
                j->stopped = 1;
                job_kill(j, now);
            }
        }
    }
    /* The result: a header, then each record and its inline output. */
    size_t total = sizeof(rhead);
    for (uint32_t i = 0; i < n; i++)
        total += sizeof(rrec) + jobs[i].r.inl_out + jobs[i].r.inl_err;
    void *buf;
    int rc = mf_task_result_buffer(task, total, &buf);
    if (rc == MF_OK) {
        char *p = buf;
        rhead h;
        memset(&h, 0, sizeof h);
        h.rank = g_rank;
        h.n = n;
        snprintf(h.host, sizeof h.host, "%s", g_host);
        memcpy(p, &h, sizeof h);
        p += sizeof h;
        for (uint32_t i = 0; i < n; i++) {
            memcpy(p, &jobs[i].r, sizeof(rrec));
            p += sizeof(rrec);
            size_t k = (size_t)jobs[i].r.inl_out + jobs[i].r.inl_err;
            if (k)
                memcpy(p, jobs[i].inl, k);
            p += k;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        free(jobs[i].inl);
    free(jobs);
    free(slot_of);
    free(slot_busy);
    free(pf);
    if (rc != MF_OK)
        return mf_task_fail(task, "mf-run: result of %zu bytes: %s", total,
                            mf_strerror(rc));
    return 0;
}

/* ---- options ------------------------------------------------------- */

typedef struct opts {
    const char *taskfile; /* or NULL */
    char **tmpl;          /* command words (-- CMD ARG...) */
    int ntmpl;
    char **vals; /* after ::: */
    int nvals, have_colons;
    const char *argsfile;
    unsigned slots;
    unsigned jobs; /* -j: worker processes of a run alone (0: cores) */
    const char *outdir, *joblog, *workdir, *spilldir;
    int tag, keep_order, resume, resume_failed, always_shell;
    double timeout, grace;
    unsigned retries;
    int halt;         /* 0 never, 1 soon, 2 now */
    double halt_fail; /* count, or percent */
    int halt_pct;
} opts;

static const char *const help_text =
    "usage: mpirun -n N mf-run [OPTIONS] TASKFILE|-\n"
    "       mpirun -n N mf-run [OPTIONS] [--] CMD [ARG...] ::: V1 V2 ...\n"
    "       mpirun -n N mf-run [OPTIONS] --args FILE [--] CMD [ARG...]\n"
    "       mf-run [-j N] [OPTIONS] ...   (alone: one machine)\n"
    "\n"
    "Runs shell commands on the worker ranks (rank 0 dispatches; ask for "
    "one\nrank more than the workers). Also under srun, and in Slurm/PBS "
    "jobs\n(jobs/slurm/run.sbatch, jobs/pbs/run.pbs). Started alone "
    "(no launcher,\nor one rank), it runs N worker processes on this "
    "machine instead.\n"
    "\n"
    "Inputs:\n"
    "  TASKFILE, -      one command per line (- : stdin); blank lines and\n"
    "                   lines starting with # (after blanks) are skipped;\n"
    "                   read as dispatched. Task ids count the commands\n"
    "                   from 1. A line is taken as is: no substitution.\n"
    "  CMD ::: V...     one task per value V; {} in CMD is replaced by V,\n"
    "                   {#} by the task id; without {}, V is appended.\n"
    "  --args FILE      the values are the lines of FILE (- : stdin).\n"
    "  Quoting: the words of CMD are joined with single spaces as they\n"
    "  are, so shell syntax given as a word ('|', '>' , 'a && b') keeps\n"
    "  its meaning; a value is inserted shell-quoted: unchanged if it is\n"
    "  made only of letters, digits and _-./,:=+@%^ (and not empty), else\n"
    "  in single quotes, each ' written as '\\''. A command (after\n"
    "  substitution) may have at most 131071 bytes (Linux's limit on one\n"
    "  argument of sh -c).\n"
    "\n"
    "Running:\n"
    "  --slots N        commands at once per worker rank (default 1)\n"
    "  -j N, --jobs N   alone (no launcher): N worker processes (default:\n"
    "                   the CPUs mf-run may use; MF_WORKERS also sets it);\n"
    "                   refused under mpirun/srun, where the ranks decide\n"
    "  --workdir DIR    directory the commands run in (default: the\n"
    "                   directory mf-run was started in)\n"
    "  --timeout S      kill a command's process group after S seconds\n"
    "                   (SIGTERM, SIGKILL 1 s later); status timeout\n"
    "  --retries N      run a failed command up to N more times\n"
    "  --halt H         never (default) | soon,fail=N | now,fail=N, N a\n"
    "                   count or a percentage (fail=10%) of the tasks:\n"
    "                   soon stops starting tasks, now also kills the\n"
    "                   running ones\n"
    "  --grace S        after SIGUSR1/SIGTERM/SIGINT, running commands\n"
    "                   get S seconds (default 10) before the kill\n"
    "  Each command runs as /bin/sh -c CMD in its own process group,\n"
    "  stdin /dev/null, with MF_TASK_ID, MF_TASK_ATTEMPT, MF_TASK_RANK,\n"
    "  MF_TASK_HOST and MF_TASK_SLOT set. When it exits, whatever it left\n"
    "  running in its process group is killed. A command of plain words\n"
    "  (letters, digits, _-./,:=+@%^ and spaces) whose first word is a\n"
    "  program on PATH (not a shell builtin) is started directly, without\n"
    "  the shell: the same result, about 1 ms less per command.\n"
    "  --always-shell   always go through /bin/sh -c\n"
    "\n"
    "Output:\n"
    "  (default)        each task's stdout, then stderr, reach mf-run's\n"
    "                   stdout/stderr whole, in completion order\n"
    "  --tag            prefix each output line with the task id and a tab\n"
    "  --keep-order     print in task id order\n"
    "  --output DIR     write DIR/<id>.out and DIR/<id>.err instead (on\n"
    "                   the workers: DIR must be on a shared file system)\n"
    "  --spill-dir DIR  where a worker puts an output stream above 256 KiB\n"
    "                   for the root to copy out (default: .mf-run.PID in\n"
    "                   the submit directory; shared file system)\n"
    "\n"
    "Job log:\n"
    "  --joblog FILE    one tab-separated line per finished attempt:\n"
    "                   Seq Attempt Rank Host Starttime JobRuntime Exitval\n"
    "                   Signal Bytes Status Digest Command (see README)\n"
    "  --resume         skip tasks the log shows finished (ok or failed\n"
    "                   for good) with the same command text\n"
    "  --resume-failed  skip only the tasks that succeeded\n"
    "  An existing log with records is refused without --resume or\n"
    "  --resume-failed, and with them if no record matches the tasks.\n"
    "\n"
    "Exit status: 0 every task succeeded; 1-100 that many tasks failed\n"
    "(100: 100 or more); 5 interrupted by SIGUSR1/SIGTERM/SIGINT (run\n"
    "again with --resume); 2 bad input or options, before any task runs;\n"
    "255 internal error.\n"
    "The message on stderr and the job log tell 2 and 5 from failures.\n"
    "Environment: MF_PROGRESS, MF_STATS, MF_TRACE, MF_WINDOW work as for\n"
    "any executor; MF_SIGNALS, MF_ISOLATE, MF_TASK_TIMEOUT and MF_JOURNAL\n"
    "are ignored (mf-run handles signals, timeouts and resume itself).\n";

static int need_arg(int argc, char **argv, int *i, const char *opt,
                    const char **val)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (strcmp(argv[*i], opt) != 0)
        return 0;
    if (*i + 1 >= argc) {
        die_msg("option %s needs a value (try --help)", opt);
        exit(EX_BADINPUT);
    }
    *val = argv[++*i];
    return 1;
}

static int parse_halt(const char *s, opts *o)
{
    if (strcmp(s, "never") == 0) {
        o->halt = 0;
        return 0;
    }
    const char *rest;
    if (strncmp(s, "soon,fail=", 10) == 0) {
        o->halt = 1;
        rest = s + 10;
    } else if (strncmp(s, "now,fail=", 9) == 0) {
        o->halt = 2;
        rest = s + 9;
    } else {
        return -1;
    }
    char buf[32];
    size_t n = strlen(rest);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, rest, n + 1);
    if (buf[n - 1] == '%') {
        buf[n - 1] = 0;
        o->halt_pct = 1;
        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (errno || *end || !(v > 0) || v > 100 || buf[0] == '-')
            return -1;
        o->halt_fail = v;
        return 0;
    }
    unsigned long long v;
    if (parse_uint(buf, 1000000000ull, &v) || v == 0)
        return -1;
    o->halt_fail = (double)v;
    return 0;
}

/* Returns 0, or an exit status. */
static int parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->slots = 1;
    o->grace = 10;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i], *v;
        unsigned long long u;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help_text, stdout);
            return -1;
        } else if (strcmp(a, "--version") == 0) {
            printf("mf-run (mpifutures %s)\n", mf_version());
            return -1;
        } else if (strcmp(a, "--tag") == 0) {
            o->tag = 1;
        } else if (strcmp(a, "--keep-order") == 0) {
            o->keep_order = 1;
        } else if (strcmp(a, "--always-shell") == 0) {
            o->always_shell = 1;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = 1;
        } else if (strcmp(a, "--resume-failed") == 0) {
            o->resume = o->resume_failed = 1;
        } else if (need_arg(argc, argv, &i, "--jobs", &v) ||
                   need_arg(argc, argv, &i, "-j", &v)) {
            if (parse_uint(v, 4096, &u) || u == 0) {
                die_msg("--jobs: '%s' is not a whole number from 1 to 4096",
                        v);
                return EX_BADINPUT;
            }
            o->jobs = (unsigned)u;
        } else if (need_arg(argc, argv, &i, "--slots", &v)) {
            if (parse_uint(v, MAX_SLOTS, &u) || u == 0) {
                die_msg("--slots: '%s' is not a whole number from 1 to %d", v,
                        MAX_SLOTS);
                return EX_BADINPUT;
            }
            o->slots = (unsigned)u;
        } else if (need_arg(argc, argv, &i, "--retries", &v)) {
            if (parse_uint(v, 1000, &u)) {
                die_msg("--retries: '%s' is not a whole number from 0 to "
                        "1000",
                        v);
                return EX_BADINPUT;
            }
            o->retries = (unsigned)u;
        } else if (need_arg(argc, argv, &i, "--timeout", &v)) {
            if (parse_seconds(v, &o->timeout)) {
                die_msg("--timeout: '%s' is not a positive number of "
                        "seconds",
                        v);
                return EX_BADINPUT;
            }
        } else if (need_arg(argc, argv, &i, "--grace", &v)) {
            if (strcmp(v, "0") == 0) {
                o->grace = 0;
            } else if (parse_seconds(v, &o->grace)) {
                die_msg("--grace: '%s' is not a number of seconds", v);
                return EX_BADINPUT;
            }
        } else if (need_arg(argc, argv, &i, "--halt", &v)) {
            if (parse_halt(v, o)) {
                die_msg("--halt: '%s' is not never, soon,fail=N or "
                        "now,fail=N (N > 0, or a percentage N%%)",
                        v);
                return EX_BADINPUT;
            }
        } else if (need_arg(argc, argv, &i, "--output", &o->outdir) ||
                   need_arg(argc, argv, &i, "--joblog", &o->joblog) ||
                   need_arg(argc, argv, &i, "--workdir", &o->workdir) ||
                   need_arg(argc, argv, &i, "--spill-dir", &o->spilldir) ||
                   need_arg(argc, argv, &i, "--args", &o->argsfile)) {
            /* taken */
        } else {
            die_msg("unknown option '%s' (try --help)", a);
            return EX_BADINPUT;
        }
    }
    const char *empties[] = {o->outdir, o->joblog, o->workdir, o->spilldir,
                             o->argsfile};
    for (size_t k = 0; k < 5; k++)
        if (empties[k] && !*empties[k]) {
            die_msg("an empty file or directory name was given");
            return EX_BADINPUT;
        }
    /* The rest: TASKFILE, or CMD ... [::: V...] */
    int colons = -1;
    for (int k = i; k < argc; k++)
        if (strcmp(argv[k], ":::") == 0) {
            colons = k;
            break;
        }
    if (colons >= 0) {
        o->have_colons = 1;
        o->tmpl = argv + i;
        o->ntmpl = colons - i;
        o->vals = argv + colons + 1;
        o->nvals = argc - colons - 1;
        if (o->argsfile) {
            die_msg("give the values with ::: or with --args, not both");
            return EX_BADINPUT;
        }
        if (o->nvals == 0) {
            die_msg("::: is followed by no values: nothing to run");
            return EX_BADINPUT;
        }
        if (o->ntmpl == 0) {
            die_msg("no command before :::");
            return EX_BADINPUT;
        }
    } else if (o->argsfile) {
        o->tmpl = argv + i;
        o->ntmpl = argc - i;
        if (o->ntmpl == 0) {
            die_msg("--args needs a command to run with each line");
            return EX_BADINPUT;
        }
    } else {
        if (argc - i == 0) {
            die_msg("no task file and no command (try --help)");
            return EX_BADINPUT;
        }
        if (argc - i > 1) {
            die_msg("one task file expected, got %d arguments (a command "
                    "needs ::: VALUES or --args FILE)",
                    argc - i);
            return EX_BADINPUT;
        }
        o->taskfile = argv[i];
    }
    if (o->keep_order && o->outdir)
        o->keep_order = 0; /* nothing is printed */
    return 0;
}

/* ---- input --------------------------------------------------------- */

typedef struct input {
    const opts *o;
    FILE *f;
    const char *name;
    char *line;
    size_t cap;
    uint64_t lineno, seq;
    int vi;
    int has_brace;
    char *cmd;
    size_t cmdlen, cmdcap;
    int eof;
} input;

static int input_open(input *in, const opts *o)
{
    memset(in, 0, sizeof *in);
    in->o = o;
    const char *file = o->taskfile ? o->taskfile : o->argsfile;
    if (file) {
        in->name = strcmp(file, "-") == 0 ? "stdin" : file;
        if (strcmp(file, "-") == 0) {
            in->f = stdin;
        } else {
            struct stat st;
            if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
                die_msg("%s: is a directory, not a file", file);
                return -1;
            }
            in->f = fopen(file, "r");
            if (!in->f) {
                die_msg("cannot read %s '%s': %s",
                        o->taskfile ? "task file" : "--args file", file,
                        strerror(errno));
                return -1;
            }
        }
    }
    for (int k = 0; k < o->ntmpl; k++)
        if (strstr(o->tmpl[k], "{}"))
            in->has_brace = 1;
    return 0;
}

static void input_close(input *in)
{
    if (in->f && in->f != stdin)
        fclose(in->f);
    in->f = NULL;
    free(in->line);
    free(in->cmd);
    in->line = in->cmd = NULL;
}

static void cmd_put(input *in, const char *s, size_t n)
{
    if (in->cmdlen + n + 1 > in->cmdcap) {
        in->cmdcap = (in->cmdlen + n + 1) * 2;
        in->cmd = xrealloc(in->cmd, in->cmdcap);
    }
    memcpy(in->cmd + in->cmdlen, s, n);
    in->cmdlen += n;
    in->cmd[in->cmdlen] = 0;
}

static void cmd_quoted(input *in, const char *v, size_t n)
{
    int safe = n > 0;
    for (size_t i = 0; i < n && safe; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("_-./,:=+@%^", c)))
            safe = 0;
    }
    if (safe) {
        cmd_put(in, v, n);
        return;
    }
    cmd_put(in, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\'')
            cmd_put(in, "'\\''", 4);
        else
            cmd_put(in, v + i, 1);
    }
    cmd_put(in, "'", 1);
}

/* Next command: 1 (in->cmd, in->cmdlen, in->seq), 0 at the end, -1 on
 * bad input (message printed). */
static int input_next(input *in)
{
    const opts *o = in->o;
    const char *val = NULL;
    size_t vlen = 0;
    for (;;) {
        if (o->have_colons) {
            if (in->vi >= o->nvals)
                return 0;
            val = o->vals[in->vi++];
            vlen = strlen(val);
            in->lineno = (uint64_t)in->vi;
            break;
        }
        ssize_t n = getline(&in->line, &in->cap, in->f);
        if (n < 0) {
            if (ferror(in->f)) {
                die_msg("%s: read error: %s", in->name, strerror(errno));
                return -1;
            }
            in->eof = 1;
            return 0;
        }
        in->lineno++;
        if (memchr(in->line, 0, (size_t)n)) {
            die_msg("%s line %llu: a NUL byte: a binary file, not a list "
                    "of %s",
                    in->name, (unsigned long long)in->lineno,
                    o->taskfile ? "commands" : "values");
            return -1;
        }
        if (n > 0 && in->line[n - 1] == '\n')
            in->line[--n] = 0;
        if (n > 0 && in->line[n - 1] == '\r')
            in->line[--n] = 0;
        if (o->taskfile) {
            const char *p = in->line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == 0 || *p == '#')
                continue;
        }
        val = in->line;
        vlen = (size_t)n;
        break;
    }
    in->seq++;
    in->cmdlen = 0;
    cmd_put(in, "", 0);
    if (o->taskfile) {
        cmd_put(in, val, vlen);
    } else {
        char num[24];
        int nl =
            snprintf(num, sizeof num, "%llu", (unsigned long long)in->seq);
        for (int k = 0; k < o->ntmpl; k++) {
            if (k)
                cmd_put(in, " ", 1);
            const char *w = o->tmpl[k];
            while (*w) {
                if (w[0] == '{' && w[1] == '}') {
                    cmd_quoted(in, val, vlen);
                    w += 2;
                } else if (w[0] == '{' && w[1] == '#' && w[2] == '}') {
                    cmd_put(in, num, (size_t)nl);
                    w += 3;
                } else {
                    cmd_put(in, w, 1);
                    w++;
                }
            }
        }
        if (!in->has_brace) {
            cmd_put(in, " ", 1);
            cmd_quoted(in, val, vlen);
        }
    }
    if (in->cmdlen > MAX_CMD) {
        die_msg("%s %llu: the command has %zu bytes, more than the %d a "
                "shell command line may have",
                o->have_colons ? "value" : (in->name ? in->name : "input"),
                (unsigned long long)in->lineno, in->cmdlen, MAX_CMD);
        return -1;
    }
    return 1;
}

/* ---- job log ------------------------------------------------------- */

static const char joblog_header[] =
    "Seq\tAttempt\tRank\tHost\tStarttime\tJobRuntime\tExitval\tSignal\t"
    "Bytes\tStatus\tDigest\tCommand\n";

/* id -> (digest, state) of the log being resumed: open addressing. */
typedef struct logmap {
    uint64_t *key; /* id + 1; 0 empty */
    uint64_t *dig;
    unsigned char *st; /* 2 ok, 1 failed for good, 0 no final record */
    size_t cap, n;
} logmap;

static size_t lm_slot(const logmap *m, uint64_t id)
{
    size_t i = (size_t)((id + 1) * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->key[i] && m->key[i] != id + 1)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void lm_put(logmap *m, uint64_t id, uint64_t dig, int st)
{
    if (2 * (m->n + 1) > m->cap) {
        logmap o = *m;
        m->cap = o.cap ? o.cap * 2 : 1024;
        m->key = calloc(m->cap, sizeof *m->key);
        m->dig = xmalloc(m->cap * sizeof *m->dig);
        m->st = xmalloc(m->cap);
        if (!m->key) {
            die_msg("out of memory");
            exit(EX_INTERNAL);
        }
        m->n = 0;
        for (size_t i = 0; i < o.cap; i++)
            if (o.key[i]) {
                size_t j = lm_slot(m, o.key[i] - 1);
                m->key[j] = o.key[i];
                m->dig[j] = o.dig[i];
                m->st[j] = o.st[i];
                m->n++;
            }
        free(o.key);
        free(o.dig);
        free(o.st);
    }
    size_t i = lm_slot(m, id);
    if (!m->key[i]) {
        m->key[i] = id + 1;
        m->n++;
        m->dig[i] = dig;
        m->st[i] = (unsigned char)st;
    } else if (m->dig[i] != dig) { /* an edited line: the newest counts */
        m->dig[i] = dig;
        m->st[i] = (unsigned char)st;
    } else if (st > m->st[i]) {
        m->st[i] = (unsigned char)st;
    }
}

/* 2 ok, 1 failed for good, 0 unknown, -1 no record with this digest. */
static int lm_get(const logmap *m, uint64_t id, uint64_t dig)
{
    if (!m->cap)
        return -1;
    size_t i = lm_slot(m, id);
    if (!m->key[i] || m->dig[i] != dig)
        return -1;
    return m->st[i];
}

/* Load FILE: returns records read (>= 0), -1 for a bad file (message
 * printed). *keep receives the length up to the last whole line. */
static long long joblog_load(const char *path, logmap *m, off_t *keep,
                             int *exists)
{
    *keep = 0;
    *exists = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        die_msg("--joblog %s: %s", path, strerror(errno));
        return -1;
    }
    *exists = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long long recs = 0, lineno = 0;
    off_t pos = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n')
            break; /* torn last line (killed job): ignored */
        if (lineno == 1) {
            if (strcmp(line, joblog_header) != 0) {
                die_msg("--joblog %s: not an mf-run job log (its first "
                        "line is not the mf-run header); give another file",
                        path);
                free(line);
                fclose(f);
                return -1;
            }
            pos += n;
            *keep = pos;
            continue;
        }
        /* Seq Attempt Rank Host Start Runtime Exit Signal Bytes Status
         * Digest Command */
        char *fld[12];
        int nf = 0;
        char *p = line;
        fld[nf++] = p;
        while (nf < 12 && (p = strchr(p, '\t')) != NULL) {
            *p++ = 0;
            fld[nf++] = p;
        }
        pos += n;
        *keep = pos;
        unsigned long long id;
        if (nf < 12 || parse_uint(fld[0], UINT64_MAX - 2, &id)) {
            fprintf(stderr,
                    "mf-run: --joblog %s line %lld: damaged record "
                    "skipped\n",
                    path, lineno);
            continue;
        }
        int st = 0;
        if (strcmp(fld[9], "ok") == 0)
            st = 2;
        else if (strcmp(fld[9], "failed") == 0 ||
                 strcmp(fld[9], "signal") == 0 ||
                 strcmp(fld[9], "timeout") == 0)
            st = 1;
        lm_put(m, id, strtoull(fld[10], NULL, 16), st);
        recs++;
    }
    free(line);
    fclose(f);
    return recs;
}

static int g_joblog_fd = -1;

static void joblog_write(const rrec *r, const char *rank_host_fmt_host,
                         int rank, const char *cmd, size_t cmdlen,
                         const char *status)
{
    if (g_joblog_fd < 0)
        return;
    size_t cap = 256 + strlen(rank_host_fmt_host) + 2 * cmdlen;
    char *b = xmalloc(cap);
    int k = snprintf(b, cap,
                     "%llu\t%u\t%d\t%s\t%.3f\t%.3f\t%d\t%d\t%llu\t%s\t%016llx"
                     "\t",
                     (unsigned long long)r->id, r->attempt, rank,
                     rank_host_fmt_host, r->start, r->runtime, r->exitval,
                     r->sig, (unsigned long long)(r->outbytes + r->errbytes),
                     status, (unsigned long long)digest(cmd, cmdlen));
    size_t o = (size_t)k;
    for (size_t i = 0; i < cmdlen; i++) {
        char c = cmd[i];
        if (c == '\\' || c == '\t' || c == '\n') {
            b[o++] = '\\';
            b[o++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
        } else {
            b[o++] = c;
        }
    }
    b[o++] = '\n';
    /* One write with O_APPEND: the record lands whole, at the end. */
    if (write_all(g_joblog_fd, b, o) != 0)
        die_msg("--joblog: write failed: %s", strerror(errno));
    free(b);
}

/* ---- root: output -------------------------------------------------- */

typedef struct outbuf {
    char b[CHUNK];
    size_t n;
    int fd;
} outbuf;

static void ob_flush(outbuf *ob)
{
    if (ob->n)
        write_all(ob->fd, ob->b, ob->n);
    ob->n = 0;
}

static void ob_put(outbuf *ob, const char *s, size_t n)
{
    while (n) {
        size_t k = sizeof ob->b - ob->n;
        if (k > n)
            k = n;
        memcpy(ob->b + ob->n, s, k);
        ob->n += k;
        s += k;
        n -= k;
        if (ob->n == sizeof ob->b)
            ob_flush(ob);
    }
}

/* Copy data to fd, with "ID\t" before each line when tagging. */
static void emit(outbuf *ob, const char *d, size_t n, const char *tag,
                 int *bol)
{
    if (!tag) {
        ob_put(ob, d, n);
        return;
    }
    size_t tl = strlen(tag);
    while (n) {
        if (*bol) {
            ob_put(ob, tag, tl);
            *bol = 0;
        }
        const char *nl = memchr(d, '\n', n);
        size_t k = nl ? (size_t)(nl - d) + 1 : n;
        ob_put(ob, d, k);
        if (nl)
            *bol = 1;
        d += k;
        n -= k;
    }
}

typedef struct root {
    opts o;
    wsettings set;
    int nworkers;
    uint64_t total; /* tasks known from the first pass (0: unknown) */
    uint64_t finished, failed, skipped, notrun, dispatched_max;
    int store_fd; /* --keep-order: outputs waiting for their turn */
    uint64_t store_end;
    /* --keep-order: ring of pending ids [next_print, ...) */
    struct pend {
        int used, skipped;
        uint64_t off;
        rrec r;
    } * pend;
    size_t pcap;
    uint64_t next_print;
    int spill_made;
} root;

static void print_stream(root *R, int fd, const rrec *r, const char *inl,
                         uint32_t inlen, int spilled, const char *ext,
                         int store_src, uint64_t store_off)
{
    outbuf *ob = xmalloc(sizeof *ob);
    ob->n = 0;
    ob->fd = fd;
    char tag[32];
    snprintf(tag, sizeof tag, "%llu\t", (unsigned long long)r->id);
    int bol = 1;
    const char *t = R->o.tag ? tag : NULL;
    if (spilled) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/%llu.%u.%s", R->set.spilldir,
                 (unsigned long long)r->id, r->attempt, ext);
        int in = open(p, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            die_msg(
                "task %llu: its %s (%llu bytes) is lost: %s: %s",
                (unsigned long long)r->id, ext,
                (unsigned long long)(*ext == 'o' ? r->outbytes : r->errbytes),
                p, strerror(errno));
        } else {
            char *buf = xmalloc(CHUNK);
            ssize_t k;
            while ((k = read(in, buf, CHUNK)) > 0)
                emit(ob, buf, (size_t)k, t, &bol);
            free(buf);
            close(in);
            unlink(p);
        }
    } else if (store_src) {
        char *buf = xmalloc(CHUNK);
        uint64_t done = 0;
        while (done < inlen) {
            size_t want = inlen - done > CHUNK ? CHUNK : inlen - done;
            ssize_t k =
                pread(R->store_fd, buf, want, (off_t)(store_off + done));
            if (k <= 0)
                break;
            emit(ob, buf, (size_t)k, t, &bol);
            done += (uint64_t)k;
        }
        free(buf);
    } else {
        emit(ob, inl, inlen, t, &bol);
    }
    ob_flush(ob);
    free(ob);
}

static void print_task(root *R, const rrec *r, const char *inl, int stored,
                       uint64_t off)
{
    if (R->o.outdir)
        return;
    print_stream(R, 1, r, inl, r->inl_out, r->spilled & 1, "out", stored,
                 off);
    print_stream(R, 2, r, inl ? inl + r->inl_out : NULL, r->inl_err,
                 r->spilled & 2, "err", stored, off + r->inl_out);
}

static struct pend *pend_at(root *R, uint64_t id)
{
    uint64_t need = id - R->next_print + 1;
    if (need > R->pcap) {
        size_t nc = R->pcap ? R->pcap : 1024;
        while (nc < need)
            nc *= 2;
        struct pend *np = calloc(nc, sizeof *np);
        if (!np) {
            die_msg("out of memory (keep-order queue)");
            exit(EX_INTERNAL);
        }
        for (uint64_t k = R->next_print; k < R->next_print + R->pcap; k++)
            np[k & (nc - 1)] = R->pend[k & (R->pcap - 1)];
        free(R->pend);
        R->pend = np;
        R->pcap = nc;
    }
    return &R->pend[id & (R->pcap - 1)];
}

static void pend_advance(root *R)
{
    while (R->pcap) {
        struct pend *p = &R->pend[R->next_print & (R->pcap - 1)];
        if (!p->used)
            break;
        if (!p->skipped)
            print_task(R, &p->r, NULL, 1, p->off);
        memset(p, 0, sizeof *p);
        R->next_print++;
    }
}

/* A task's final record: print now, or keep it for its turn. */
static void output_final(root *R, const rrec *r, const char *inl)
{
    if (!R->o.keep_order) {
        print_task(R, r, inl, 0, 0);
        return;
    }
    if (r->id == R->next_print) {
        print_task(R, r, inl, 0, 0);
        R->next_print++;
        pend_advance(R);
        return;
    }
    struct pend *p = pend_at(R, r->id);
    p->used = 1;
    p->r = *r;
    p->off = R->store_end;
    size_t k = (size_t)r->inl_out + r->inl_err;
    if (k) {
        if (pwrite(R->store_fd, inl, k, (off_t)R->store_end) != (ssize_t)k)
            die_msg("--keep-order: cannot keep the output of task %llu: "
                    "%s",
                    (unsigned long long)r->id, strerror(errno));
        R->store_end += k;
    }
}

static void output_skipped(root *R, uint64_t id)
{
    if (!R->o.keep_order)
        return;
    if (id == R->next_print) {
        R->next_print++;
        pend_advance(R);
        return;
    }
    struct pend *p = pend_at(R, id);
    p->used = 1;
    p->skipped = 1;
}

static void spill_discard(root *R, const rrec *r)
{
    for (int s = 0; s < 2; s++)
        if (r->spilled & (1u << s)) {
            char p[PATH_MAX + 64];
            snprintf(p, sizeof p, "%s/%llu.%u.%s", R->set.spilldir,
                     (unsigned long long)r->id, r->attempt,
                     s ? "err" : "out");
            unlink(p);
        }
}

/* ---- root: dispatch ------------------------------------------------ */

typedef struct cmdent {
    uint64_t id;
    uint32_t attempt;
    size_t len;
    char *cmd;
} cmdent;

typedef struct batch {
    mf_future fut;
    uint32_t n;
    cmdent *c;
} batch;

static void batch_free(batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        free(b->c[i].cmd);
    free(b->c);
    b->c = NULL;
    b->n = 0;
}

static MPI_Comm g_root_ctrl = MPI_COMM_NULL;
static int *g_ctrl_sent;

static void send_ctrl_all(int nranks, double grace)
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
            MPI_Send(&grace, 1, MPI_DOUBLE, r, CTRL_TAG, g_root_ctrl);
            g_ctrl_sent[r] = 1;
        }
}

static int halt_reached(const root *R)
{
    if (!R->o.halt || !R->failed)
        return 0;
    if (!R->o.halt_pct)
        return (double)R->failed >= R->o.halt_fail;
    double base = R->total ? (double)R->total : (double)R->finished;
    return base > 0 && 100.0 * (double)R->failed / base >= R->o.halt_fail;
}

static const char *sig_name(int s)
{
    return s == SIGUSR1 ? "USR1" : s == SIGTERM ? "TERM" : "INT";
}

/* Handle one finished batch; may queue retries. */
static void batch_done(root *R, batch *b, cmdent **retry, size_t *nretry,
                       size_t *capretry, int stopping)
{
    const void *data = NULL;
    size_t len = 0;
    int rc = mf_future_result(b->fut, 0, &data, &len);
    if (rc != MF_OK) {
        const mf_task_error *te = NULL;
        mf_future_error(b->fut, 0, &te);
        if (rc != MF_ECANCELLED)
            die_msg("batch of tasks %llu..: %s%s%s",
                    (unsigned long long)b->c[0].id, mf_strerror(rc),
                    te ? ": " : "", te ? te->message : "");
        R->notrun += b->n; /* not run: a resume runs them */
        return;
    }
    const char *p = data, *end = p + len;
    rhead h;
    if (len < sizeof h) {
        die_msg("short result");
        R->notrun += b->n;
        return;
    }
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    h.host[sizeof h.host - 1] = 0;
    for (uint32_t i = 0; i < h.n && i < b->n; i++) {
        rrec r;
        if ((size_t)(end - p) < sizeof r)
            break;
        memcpy(&r, p, sizeof r);
        p += sizeof r;
        const char *inl = p;
        p += (size_t)r.inl_out + r.inl_err;
        if (p > end)
            break;
        cmdent *c = &b->c[i];
        if (r.status == ST_NOTRUN) {
            R->notrun++;
            continue;
        }
        int ok = r.status == ST_OK;
        if (!ok && r.status != ST_INTERRUPTED && !stopping &&
            r.attempt <= R->o.retries) {
            joblog_write(&r, h.host, h.rank, c->cmd, c->len, "retried");
            spill_discard(R, &r);
            if (*nretry == *capretry) {
                *capretry = *capretry ? *capretry * 2 : 16;
                *retry = xrealloc(*retry, *capretry * sizeof **retry);
            }
            cmdent *e = &(*retry)[(*nretry)++];
            *e = *c;
            e->attempt = r.attempt + 1;
            c->cmd = NULL; /* moved */
            continue;
        }
        joblog_write(&r, h.host, h.rank, c->cmd, c->len, st_name[r.status]);
        if (r.status == ST_INTERRUPTED) {
            R->notrun++;
            spill_discard(R, &r);
            continue;
        }
        R->finished++;
        if (!ok)
            R->failed++;
        output_final(R, &r, inl);
    }
}

static int root_main(root *R, mf_executor *ex, mf_fn_id fn_batch,
                     const logmap *lm, int nranks)
{
    const opts *o = &R->o;
    input in;
    if (input_open(&in, o) != 0)
        return EX_BADINPUT; /* checked before; a race at most */
    size_t maxout = (size_t)R->nworkers * 3 + 2;
    batch *bs = calloc(maxout, sizeof *bs);
    mf_future *futs = xmalloc(maxout * sizeof *futs);
    unsigned char *flags = xmalloc(maxout);
    size_t nb = 0;
    cmdent *retry = NULL;
    size_t nretry = 0, capretry = 0, rhead_i = 0;
    int eof = 0, stopping = 0, halted = 0, bad = 0;
    int sig = 0;
    double stop_at = 0;
    R->next_print = 1;
    for (;;) {
        if (g_signal && !sig) {
            sig = g_signal;
            stopping = 1;
            stop_at = mono_now();
            fprintf(stderr,
                    "mf-run: got SIG%s: no new tasks; running ones get "
                    "%.0f s\n",
                    sig_name(sig), o->grace);
            send_ctrl_all(nranks, o->grace);
            for (size_t k = 0; k < nb; k++)
                mf_future_cancel(bs[k].fut);
        }
        if (!stopping && halt_reached(R)) {
            stopping = halted = 1;
            stop_at = mono_now();
            fprintf(stderr,
                    "mf-run: --halt %s,fail=%g%s: %llu failed: no new "
                    "tasks%s\n",
                    o->halt == 2 ? "now" : "soon", o->halt_fail,
                    o->halt_pct ? "%" : "", (unsigned long long)R->failed,
                    o->halt == 2 ? "; killing the running ones" : "");
            if (o->halt == 2)
                send_ctrl_all(nranks, 0);
            for (size_t k = 0; k < nb; k++)
                mf_future_cancel(bs[k].fut);
        }
        /* Fill: batches of up to --slots commands, retries first. */
        while (!stopping && nb < maxout && (!eof || rhead_i < nretry)) {
            batch *b = &bs[nb];
            b->c = xmalloc(o->slots * sizeof *b->c);
            b->n = 0;
            while (b->n < o->slots) {
                if (rhead_i < nretry) {
                    b->c[b->n++] = retry[rhead_i++];
                    continue;
                }
                if (eof)
                    break;
                int r = input_next(&in);
                if (r <= 0) {
                    eof = 1;
                    if (r < 0) {
                        bad = 1;
                        stopping = 1;
                    }
                    break;
                }
                uint64_t dg = digest(in.cmd, in.cmdlen);
                int st = lm_get(lm, in.seq, dg);
                if (st == 2 || (st == 1 && !o->resume_failed)) {
                    R->skipped++;
                    output_skipped(R, in.seq);
                    continue;
                }
                cmdent *c = &b->c[b->n++];
                c->id = in.seq;
                c->attempt = 1;
                c->len = in.cmdlen;
                c->cmd = xmalloc(in.cmdlen + 1);
                memcpy(c->cmd, in.cmd, in.cmdlen + 1);
            }
            if (rhead_i == nretry)
                rhead_i = nretry = 0;
            if (b->n == 0) {
                free(b->c);
                b->c = NULL;
                break;
            }
            size_t alen = 4;
            for (uint32_t i = 0; i < b->n; i++)
                alen += sizeof(ahead) + b->c[i].len + 1;
            char *arg = xmalloc(alen);
            memcpy(arg, &b->n, 4);
            size_t off = 4;
            for (uint32_t i = 0; i < b->n; i++) {
                ahead h = {b->c[i].id, b->c[i].attempt,
                           (uint32_t)b->c[i].len};
                memcpy(arg + off, &h, sizeof h);
                off += sizeof h;
                memcpy(arg + off, b->c[i].cmd, b->c[i].len + 1);
                off += b->c[i].len + 1;
            }
            mf_submit_opts so;
            memset(&so, 0, sizeof so);
            so.timeout = -1;
            so.free_arg = free;
            int rc = mf_submit_ex(ex, fn_batch, arg, alen, &so, &b->fut);
            if (rc != MF_OK) {
                if (rc != MF_EINTR)
                    die_msg("submit: %s: %s", mf_strerror(rc),
                            mf_last_error());
                R->notrun += b->n;
                batch_free(b);
                stopping = 1;
                break;
            }
            nb++;
        }
        if (nb == 0 && (stopping || (eof && nretry == 0)))
            break;
        if (nb == 0)
            continue;
        for (size_t k = 0; k < nb; k++)
            futs[k] = bs[k].fut;
        size_t nd = 0;
        int rc = mf_wait(futs, nb, 0.1, MF_FIRST_COMPLETED, flags, &nd);
        if (rc != MF_OK && rc != MF_ETIMEDOUT) {
            die_msg("wait: %s: %s", mf_strerror(rc), mf_last_error());
            break;
        }
        size_t w = 0;
        for (size_t k = 0; k < nb; k++) {
            if (flags[k]) {
                batch_done(R, &bs[k], &retry, &nretry, &capretry, stopping);
                mf_future_release(bs[k].fut);
                batch_free(&bs[k]);
            } else {
                bs[w++] = bs[k];
            }
        }
        nb = w;
        if (stopping && nretry) {
            for (size_t k = 0; k < nretry; k++)
                free(retry[k].cmd);
            R->notrun += nretry - rhead_i;
            nretry = rhead_i = 0;
        }
        if (stopping && stop_at > 0 && mono_now() > stop_at + o->grace + 30) {
            die_msg("%zu batches still running %.0f s after the stop: "
                    "giving up on them",
                    nb, o->grace + 30);
            if (!g_mpi) /* alone: the workers die with this process */
                _exit(sig ? EX_INTERRUPTED : EX_INTERNAL);
            MPI_Abort(MPI_COMM_WORLD, sig ? EX_INTERRUPTED : EX_INTERNAL);
        }
    }
    free(retry);
    free(bs);
    free(futs);
    free(flags);
    input_close(&in);
    if (bad)
        return EX_BADINPUT;
    if (sig) {
        char tot[32] = "?";
        if (R->total)
            snprintf(tot, sizeof tot, "%llu",
                     (unsigned long long)(R->total - R->skipped));
        fprintf(stderr,
                "mf-run: interrupted by SIG%s: %llu of %s tasks finished "
                "(%llu failed), %llu not run%s\n",
                sig_name(sig), (unsigned long long)R->finished, tot,
                (unsigned long long)R->failed,
                (unsigned long long)(R->total
                                         ? R->total - R->skipped - R->finished
                                         : R->notrun),
                o->joblog ? "; run again with --resume to finish them" : "");
        return EX_INTERRUPTED;
    }
    (void)halted;
    if (R->failed)
        fprintf(stderr, "mf-run: %llu of %llu tasks failed\n",
                (unsigned long long)R->failed,
                (unsigned long long)R->finished);
    return R->failed > 100 ? 100 : (int)R->failed;
}

/* ---- root: checks before any task runs ----------------------------- */

static int check_dir_writable(const char *what, const char *dir, int create)
{
    if (create && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        die_msg("%s %s: cannot create it: %s", what, dir, strerror(errno));
        return -1;
    }
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/.mf-run-probe.%ld", dir, (long)getpid());
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        die_msg("%s %s: not writable: %s", what, dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(p);
    return 0;
}

static int abs_path(const char *p, char *out)
{
    if (!realpath(p, out))
        return -1;
    return 0;
}

/* Everything that can be refused before a task runs. 0 or exit status.
 */
static int root_prepare(root *R, logmap *lm)
{
    opts *o = &R->o;
    /* The first pass: every line checked, tasks counted (files only). */
    const char *file = o->taskfile ? o->taskfile : o->argsfile;
    int streamed = file && strcmp(file, "-") == 0;
    uint64_t matches = 0;
    off_t keep = 0;
    int exists = 0;
    long long recs = 0;
    if (o->joblog) {
        recs = joblog_load(o->joblog, lm, &keep, &exists);
        if (recs < 0)
            return EX_BADINPUT;
        if (recs > 0 && !o->resume) {
            die_msg("--joblog %s has %lld records of an earlier run: add "
                    "--resume (or --resume-failed) to continue it, or "
                    "remove the file",
                    o->joblog, recs);
            return EX_BADINPUT;
        }
    }
    if (!streamed) {
        input in;
        if (input_open(&in, o) != 0)
            return EX_BADINPUT;
        int r;
        while ((r = input_next(&in)) == 1) {
            R->total++;
            if (recs > 0 &&
                lm_get(lm, in.seq, digest(in.cmd, in.cmdlen)) >= 0)
                matches++;
        }
        input_close(&in);
        if (r < 0)
            return EX_BADINPUT;
        if (R->total == 0) {
            if (o->taskfile)
                die_msg("task file %s has no commands (only blank lines "
                        "or # comments, or nothing)",
                        o->taskfile);
            else
                die_msg("--args %s has no lines: nothing to run",
                        o->argsfile);
            return EX_BADINPUT;
        }
        if (recs > 0 && matches == 0) {
            die_msg("--joblog %s is from a different task list: none of "
                    "its %lld records matches a task here (same id and "
                    "command); give another file",
                    o->joblog, recs);
            return EX_BADINPUT;
        }
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        die_msg("cannot get the current directory: %s", strerror(errno));
        return EX_BADINPUT;
    }
    R->set.timeout = o->timeout;
    R->set.grace = o->grace;
    R->set.inline_max = INLINE_MAX;
    R->set.always_shell = (uint32_t)o->always_shell;
    if (o->workdir) {
        struct stat st;
        if (stat(o->workdir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            abs_path(o->workdir, R->set.workdir)) {
            die_msg("--workdir %s: not a directory", o->workdir);
            return EX_BADINPUT;
        }
    } else {
        snprintf(R->set.workdir, sizeof R->set.workdir, "%s", cwd);
    }
    if (o->outdir) {
        if (check_dir_writable("--output", o->outdir, 1) ||
            abs_path(o->outdir, R->set.outdir))
            return EX_BADINPUT;
        R->set.outdir_mode = 1;
    } else {
        if (o->spilldir) {
            if (check_dir_writable("--spill-dir", o->spilldir, 1) ||
                abs_path(o->spilldir, R->set.spilldir))
                return EX_BADINPUT;
        } else {
            int k = snprintf(R->set.spilldir, sizeof R->set.spilldir,
                             "%s/.mf-run.%ld", cwd, (long)getpid());
            if (k < 0 || (size_t)k >= sizeof R->set.spilldir ||
                mkdir(R->set.spilldir, 0700) != 0) {
                die_msg("cannot create %s for large outputs: %s (give "
                        "--spill-dir DIR or --output DIR)",
                        R->set.spilldir, strerror(errno));
                return EX_BADINPUT;
            }
            R->spill_made = 1;
        }
    }
    if (o->joblog) {
        if (exists && keep > 0) {
            /* Drop a torn last line so the next record starts whole. */
            if (truncate(o->joblog, keep) != 0) {
                die_msg("--joblog %s: %s", o->joblog, strerror(errno));
                return EX_BADINPUT;
            }
        }
        g_joblog_fd =
            open(o->joblog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (g_joblog_fd < 0) {
            die_msg("--joblog %s: cannot write it: %s", o->joblog,
                    strerror(errno));
            return EX_BADINPUT;
        }
        if (keep == 0) {
            if (ftruncate(g_joblog_fd, 0) != 0 ||
                write_all(g_joblog_fd, joblog_header,
                          sizeof joblog_header - 1) != 0) {
                die_msg("--joblog %s: cannot write it: %s", o->joblog,
                        strerror(errno));
                return EX_BADINPUT;
            }
        }
    }
    if (o->keep_order) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = "/tmp";
        R->store_fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (R->store_fd < 0) {
            die_msg("--keep-order: cannot create a temporary file in %s: "
                    "%s",
                    tmp, strerror(errno));
            return EX_BADINPUT;
        }
    }
    return 0;
}

/* MF_RUN_PEAK_RSS=1: each rank prints its peak resident size (VmHWM) at
 * the end, for the tests and scripts/bench-run. */
static void report_peak_rss(int rank)
{
    const char *e = getenv("MF_RUN_PEAK_RSS");
    if (!e || strcmp(e, "1") != 0)
        return;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            fprintf(stderr, "mf-run: rank %d peak RSS %ld KiB\n", rank,
                    strtol(line + 6, NULL, 10));
    fclose(f);
}

/* ---- main ---------------------------------------------------------- */

int main(int argc, char **argv)
{
    /* mf-run does these itself; the library's versions would fight it. */
    unsetenv("MF_SIGNALS");
    unsetenv("MF_ISOLATE");
    unsetenv("MF_TASK_TIMEOUT");
    unsetenv("MF_JOURNAL");
    /* Alone (no launcher), MPI is never initialised: an Open MPI
     * singleton's start-up alone costs about 0.4 s. */
    /* From the start: a batch system's warning during MPI's start-up or
     * the input check is recorded (the run then stops at once, exit 5),
     * not the default action that kills a rank without a word. */
    catch_signals();
    g_mpi = mf_launched();
    if (g_mpi && mf_init(&argc, &argv, NULL) != MF_OK) {
        fprintf(stderr, "mf-run: MPI initialisation failed\n");
        return EX_INTERNAL;
    }
    int rank = 0, nranks = 1;
    if (g_mpi) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    }
    g_rank = rank;
    if (gethostname(g_host, sizeof g_host) != 0)
        snprintf(g_host, sizeof g_host, "?");
    g_host[sizeof g_host - 1] = 0;

    static root R;
    static logmap lm;
    int status = 0;
    if (rank == 0) {
        status = parse_opts(argc, argv, &R.o);
        const char *be = getenv("MF_BACKEND");
        if (status == 0 && nranks > 1 && R.o.jobs) {
            die_msg("-j/--jobs is for a run alone; under mpirun/srun the "
                    "ranks are the workers (ask for one rank more)");
            status = EX_BADINPUT;
        } else if (status == 0 && nranks == 1 && be &&
                   strcmp(be, "threads") == 0) {
            die_msg("MF_BACKEND=threads: mf-run's workers must be "
                    "processes (each waits for its commands and handles "
                    "signals); unset it or use MF_BACKEND=processes");
            status = EX_BADINPUT;
        } else if (status == 0 && nranks == 1 && be &&
                   strcmp(be, "none") == 0) {
            die_msg("one rank and MF_BACKEND=none: no workers; run under "
                    "mpirun -n N or srun, or without MF_BACKEND=none");
            status = EX_BADINPUT;
        }
        if (status == 0 && nranks == 1 && R.o.jobs) {
            char jb[16];
            snprintf(jb, sizeof jb, "%u", R.o.jobs);
            setenv("MF_WORKERS", jb, 1); /* the pool's size */
        }
        if (status == 0)
            status = root_prepare(&R, &lm);
    }
    if (g_mpi)
        MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (status != 0) {
        if (R.spill_made)
            rmdir(R.set.spilldir);
        mf_finalize();
        return status < 0 ? 0 : status;
    }
    if (nranks == 1) {
        g_local = mmap(NULL, sizeof *g_local, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (g_local == MAP_FAILED) {
            die_msg("cannot map a shared page: %s", strerror(errno));
            mf_finalize();
            return EX_INTERNAL;
        }
        atomic_init(&g_local->stop, 0);
        g_local->grace = 0;
    }
    if (g_mpi)
        MPI_Comm_dup(MPI_COMM_WORLD, &g_ctrl);
    g_root_ctrl = g_ctrl;
    mf_fn_id fn_batch, fn_init;
    mf_register("mf-run.batch", task_batch, NULL, &fn_batch);
    mf_register("mf-run.init", task_init, NULL, &fn_init);
    mf_executor_opts eo;
    mf_executor_opts_init(&eo);
    eo.initializer = fn_init;
    eo.initializer_arg = &R.set;
    eo.initializer_len = sizeof R.set;
    mf_executor *ex = NULL;
    int rc = g_mpi ? mf_executor_open(MPI_COMM_WORLD, 0, &eo, &ex)
                   : mf_executor_open_local(MF_PROCESSES, 0, &eo, &ex);
    if (rc != MF_OK) {
        if (rank == 0)
            die_msg("cannot open the executor: %s: %s", mf_strerror(rc),
                    mf_last_error());
        status = EX_INTERNAL;
    } else if (rank == 0) {
        R.nworkers = mf_executor_workers(ex);
        g_ctrl_sent = calloc((size_t)nranks, sizeof *g_ctrl_sent);
        status = root_main(&R, ex, fn_batch, &lm, nranks);
        mf_executor_shutdown(ex, 1, 1);
        mf_executor_close(ex);
        send_ctrl_all(nranks, -1); /* END to those that got no STOP */
        free(g_ctrl_sent);
    } else if (!g_ctrl_got && !g_local) {
        double grace;
        MPI_Recv(&grace, 1, MPI_DOUBLE, 0, CTRL_TAG, g_ctrl,
                 MPI_STATUS_IGNORE);
    }
    if (rank == 0) {
        if (g_joblog_fd >= 0 && close(g_joblog_fd) != 0)
            die_msg("--joblog: %s", strerror(errno));
        if (R.spill_made)
            rmdir(R.set.spilldir);
        fflush(stdout);
    }
    if (g_ctrl != MPI_COMM_NULL)
        MPI_Comm_free(&g_ctrl);
    if (g_local)
        munmap(g_local, sizeof *g_local);
    report_peak_rss(rank);
    mf_finalize();
    return status;
}
