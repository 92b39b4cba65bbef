/* crash.c — a last word from a worker that dies inside a task.
 *
 * Without isolation, a task that segfaults, aborts or calls exit() takes
 * its rank down and MPI ends the job. Before that happens, the worker
 * says which rank and host died, in which function, how, and how many
 * tasks it held, so the user need not guess. The handler uses only
 * async-signal-safe calls (write, a hand-made number formatter), then
 * restores the default action and re-raises the signal.
 */
#include "internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int mf_fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define MF_NFATAL (sizeof mf_fatal / sizeof mf_fatal[0])

static struct sigaction mf_fatal_old[MF_NFATAL];
static int mf_crash_on;
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
 * rank held N task(s), now lost; the job will end" */
static void mf_last_word(const char *how, const char *what)
{
    char b[512];
    size_t at = 0;
    const char *name = mf_cur_name;
    at = mf_put(b, at, sizeof b, "mpifutures: worker rank ");
    at = mf_put_num(b, at, sizeof b, mf_rank);
    at = mf_put(b, at, sizeof b, " on ");
    at = mf_put(b, at, sizeof b, mf_host);
    at = mf_put(b, at, sizeof b, " ");
    at = mf_put(b, at, sizeof b, how);
    at = mf_put(b, at, sizeof b, what);
    at = mf_put(b, at, sizeof b, " in task '");
    at = mf_put(b, at, sizeof b, name ? name : "?");
    at = mf_put(b, at, sizeof b, "'; the rank held ");
    at = mf_put_num(b, at, sizeof b, (long)mf_cur_held);
    at = mf_put(b, at, sizeof b, " task(s), now lost; the job will end\n");
    ssize_t r = write(2, b, at);
    (void)r;
}

static void mf_on_fatal(int sig)
{
    if (mf_cur_name)
        mf_last_word("died of ", mf_sig_text(sig));
    signal(sig, SIG_DFL);
    raise(sig);
}

static void mf_on_exit(void)
{
    if (mf_crash_on && mf_cur_name)
        mf_last_word("exited", " (exit() called)");
}

void mf__crash_install(int rank, const char *host)
{
    static int atexit_done;
    mf_rank = rank;
    strncpy(mf_host, host ? host : "?", sizeof mf_host - 1);
    mf_cur_name = NULL;
    for (size_t i = 0; i < MF_NFATAL; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = mf_on_fatal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(mf_fatal[i], &sa, &mf_fatal_old[i]);
    }
    if (!atexit_done && atexit(mf_on_exit) == 0)
        atexit_done = 1;
    mf_crash_on = 1;
}

void mf__crash_restore(void)
{
    if (!mf_crash_on)
        return;
    for (size_t i = 0; i < MF_NFATAL; i++)
        sigaction(mf_fatal[i], &mf_fatal_old[i], NULL);
    mf_crash_on = 0;
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
     * so the default actions apply and no last words are said. */
    for (size_t i = 0; i < MF_NFATAL; i++)
        signal(mf_fatal[i], SIG_DFL);
    mf_crash_on = 0;
    mf_cur_name = NULL;
}
