/* crash.c — a last word from a worker that dies inside a task.
 *
 * Without isolation, a task that segfaults, aborts or calls exit() takes
 * its rank down and MPI ends the job. Before that happens, the worker
 * says which rank and host died, in which function, how, and how many
 * tasks it held, so the user need not guess. The handlers are installed
 * on worker ranks only, while they serve (mf__serve), and the previous
 * ones are put back when serving ends. A handler uses only
 * async-signal-safe calls (write, a hand-made number formatter), then
 * hands the signal on to what was there before: the program's own
 * handler (or a sanitizer's) is called with the same arguments; the
 * default action is restored and the signal raised again.
 *
 * A worker that leaves through exit() while serving (a task called it)
 * is outside the protocol: under some MPIs the job would end with status
 * 0 although the root never finished. A destructor of the library, which
 * exit() runs, says so and ends the rank with status 1. (A destructor rather
 * than atexit(): nothing is registered, so unloading the library is safe; at
 * dlclose it does nothing, since no worker serves then.)
 */

#include "crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int mf_fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define MF_NFATAL (sizeof mf_fatal / sizeof mf_fatal[0])

static struct sigaction mf_fatal_old[MF_NFATAL];
static volatile sig_atomic_t mf_crash_on;
static volatile sig_atomic_t mf_said; /* last word written once */
static pid_t mf_pid;                  /* the serving process */
static int mf_rank = -1;
static char mf_host[64];
/* Set around each task call; read by the handlers. */
static const char *volatile mf_cur_name;
static volatile size_t mf_cur_held;

static size_t mf_put(char *b, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        b[at++] = *s++;
    return at;
}

static size_t mf_put_num(char *b, size_t at, size_t cap, long v)
{
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    if (v < 0 && at + 1 < cap)
        b[at++] = '-';
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u && n < (int)sizeof tmp);
    while (n > 0 && at + 1 < cap)
        b[at++] = tmp[--n];
    return at;
}

static const char *mf_sig_text(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGABRT:
        return "SIGABRT (abort)";
    default:
        return "a signal";
    }
}

/* "mpifutures: worker rank R on HOST <how><what> in task 'NAME'; the
 * rank held N task(s), now lost; the job will end" (outside a task:
 * "... while serving, outside any task; the job will end") */
static void mf_last_word(const char *how, const char *what)
{
    char b[512];
    size_t at = 0;
    const char *name = mf_cur_name;
    if (mf_said)
        return;
    mf_said = 1;
    at = mf_put(b, at, sizeof b, "mpifutures: worker rank ");
    at = mf_put_num(b, at, sizeof b, mf_rank);
    at = mf_put(b, at, sizeof b, " on ");
    at = mf_put(b, at, sizeof b, mf_host);
    at = mf_put(b, at, sizeof b, " ");
    at = mf_put(b, at, sizeof b, how);
    at = mf_put(b, at, sizeof b, what);
    if (name) {
        at = mf_put(b, at, sizeof b, " in task '");
        at = mf_put(b, at, sizeof b, name);
        at = mf_put(b, at, sizeof b, "'; the rank held ");
        at = mf_put_num(b, at, sizeof b, (long)mf_cur_held);
        at = mf_put(b, at, sizeof b, " task(s), now lost");
    } else {
        at = mf_put(b, at, sizeof b, " while serving, outside any task");
    }
    at = mf_put(b, at, sizeof b, "; the job will end\n");
    ssize_t r = write(2, b, at);
    (void)r;
}

static void mf_on_fatal(int sig, siginfo_t *info, void *ctx)
{
    size_t i = 0;
    while (i < MF_NFATAL && mf_fatal[i] != sig)
        i++;
    if (i == MF_NFATAL)
        return;
    if (mf_crash_on && mf_cur_name && getpid() == mf_pid)
        mf_last_word("died of ", mf_sig_text(sig));
    /* Chain to what was installed before us. */
    const struct sigaction *old = &mf_fatal_old[i];
    if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, info, ctx);
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
        old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    if (!(old->sa_flags & SA_SIGINFO) && old->sa_handler == SIG_IGN && info &&
        info->si_code <= 0)
        return; /* sent by kill() and ignored by the program: ignore */
    /* The default action: restore it and raise again (a fault would also
     * recur on return; abort() and kill() would not). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

/* Run by exit() (and at dlclose, when it has nothing to do). The rank
 * ends at once with status 1: a rank that ends non-zero without
 * MPI_Finalize fails the job under every launcher, whereas status 0 was
 * taken for a normal end by MPICH's. (Not MPI_Abort: under MPICH it could
 * end the job before the launcher forwarded the line above.) */
__attribute__((destructor)) static void mf_crash_fini(void)
{
    if (!mf_crash_on || getpid() != mf_pid)
        return;
    mf_last_word("exited", " (exit() called)");
    mf_crash_on = 0;
    _exit(1);
}

void mf__crash_install(int rank, const char *host)
{
    mf_rank = rank;
    mf_pid = getpid();
    strncpy(mf_host, host ? host : "?", sizeof mf_host - 1);
    mf_cur_name = NULL;
    mf_said = 0;
    for (size_t i = 0; i < MF_NFATAL; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = mf_on_fatal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
        sigaction(mf_fatal[i], &sa, &mf_fatal_old[i]);
    }
    mf_crash_on = 1;
}

void mf__crash_restore(void)
{
    if (!mf_crash_on)
        return;
    mf_crash_on = 0;
    for (size_t i = 0; i < MF_NFATAL; i++)
        sigaction(mf_fatal[i], &mf_fatal_old[i], NULL);
    mf_cur_name = NULL;
}

void mf__crash_task(const char *name, size_t held)
{
    mf_cur_held = held;
    mf_cur_name = name;
}

void mf__crash_child(void)
{
    /* In an isolated task's process: a crash is reported by the parent,
     * so the default actions apply and no last words are said; exit()
     * is the task's way out, not a protocol breach. */
    mf_crash_on = 0;
    mf_cur_name = NULL;
    for (size_t i = 0; i < MF_NFATAL; i++)
        signal(mf_fatal[i], SIG_DFL);
}
