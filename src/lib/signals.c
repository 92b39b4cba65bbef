/* signal.c — catching the signals a batch system sends before it kills a
 * job (opts.handle_signals).
 *
 * The handler only records the signal (async-signal-safe); the root's
 * progress engine notices it and winds the executor down. A counter of
 * open executors that asked for handling decides when the previous
 * handlers go back in place.
 */

#include "signals.h"

#include <signal.h>
#include <string.h>

static const int mf_sigs[] = {SIGTERM, SIGINT, SIGUSR1};
#define MF_NSIGS (sizeof mf_sigs / sizeof mf_sigs[0])

static volatile sig_atomic_t mf_caught;
static struct sigaction mf_old[MF_NSIGS];
static int mf_installed; /* executors that asked; lock held */

static void mf_on_signal(int sig)
{
    if (!mf_caught)
        mf_caught = sig;
}

int mf__signals_install(void)
{
    if (mf_installed++ > 0)
        return MF_OK;
    mf_caught = 0;
    for (size_t i = 0; i < MF_NSIGS; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = mf_on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: a sleeping wait wakes up and looks at once. */
        if (sigaction(mf_sigs[i], &sa, &mf_old[i]) != 0) {
            while (i-- > 0)
                sigaction(mf_sigs[i], &mf_old[i], NULL);
            mf_installed--;
            return MF_EINVAL;
        }
    }
    return MF_OK;
}

void mf__signals_restore(void)
{
    if (mf_installed == 0 || --mf_installed > 0)
        return;
    for (size_t i = 0; i < MF_NSIGS; i++)
        sigaction(mf_sigs[i], &mf_old[i], NULL);
}

int mf__signal_caught(void)
{
    return mf_caught;
}

const char *mf__signal_name(int sig)
{
    switch (sig) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "a signal";
    }
}
