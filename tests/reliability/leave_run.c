/*
 * Workers that leave outside the protocol, and the crash report's manners
 * (issue 11, items 6 and 23):
 *   leave_run exit0    a task calls exit(0): the job must fail (non-zero)
 *                      under every MPI, the worker naming the task
 *   leave_run abort    the program has its own SIGABRT handler (plain)
 *   leave_run segv     ... its own SIGSEGV handler (SA_SIGINFO); the task
 *                      crashes: the worker's report comes, then the
 *                      program's handler runs (chained, not replaced)
 *   leave_run restore  the program's handlers are back once the worker
 *                      stops serving (exit 0 when so)
 */
#define _POSIX_C_SOURCE 200809L
#include <mpifutures.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank = -1;

static void own_note(int sig)
{
    char b[96];
    int n = snprintf(b, sizeof b,
                     "leave_run: the program's own handler for signal %d "
                     "ran on rank %d\n",
                     sig, rank);
    ssize_t r = write(2, b, (size_t)n);
    (void)r;
}

static void own_plain(int sig)
{
    own_note(sig);
    _exit(42);
}

static void own_info(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    (void)ctx;
    own_note(sig);
    _exit(43);
}

static void install(int sig, int info)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (info) {
        sa.sa_sigaction = own_info;
        sa.sa_flags = SA_SIGINFO;
    } else {
        sa.sa_handler = own_plain;
    }
    sigaction(sig, &sa, NULL);
}

static int is_own(int sig, int info)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return info ? (sa.sa_flags & SA_SIGINFO) && sa.sa_sigaction == own_info
                : !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == own_plain;
}

static int t_leave(mf_task *t, void *ud)
{
    size_t len;
    const char *how = mf_task_arg(t, &len);
    (void)ud;
    if (len == 5 && !memcmp(how, "exit0", 5))
        exit(0);
    if (len == 5 && !memcmp(how, "abort", 5))
        abort();
    if (len == 4 && !memcmp(how, "segv", 4))
        raise(SIGSEGV);
    return 0;
}

int main(int argc, char **argv)
{
    mf_fn_id fn;
    mf_executor *ex;
    const char *mode = argc > 1 ? argv[1] : "";
    int restore = !strcmp(mode, "restore");
    mf_init(&argc, &argv, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mf_register("leaver", t_leave, NULL, &fn);
    if (!strcmp(mode, "abort") || restore)
        install(SIGABRT, 0);
    if (!strcmp(mode, "segv") || restore)
        install(SIGSEGV, 1);
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK)
        return 1;
    if (ex) {
        mf_future f;
        mf_submit(ex, fn, restore ? "nop" : mode, restore ? 3 : strlen(mode),
                  &f);
        int rc = mf_future_result(f, 60, NULL, NULL);
        printf("leave_run: root got %s\n", mf_errname(rc));
        mf_future_release(f);
        mf_executor_close(ex);
    } else if (restore && (!is_own(SIGABRT, 0) || !is_own(SIGSEGV, 1))) {
        fprintf(stderr,
                "leave_run: FAIL: rank %d: the program's handlers were "
                "not restored after serving\n",
                rank);
        return 1;
    }
    mf_finalize();
    return 0;
}
