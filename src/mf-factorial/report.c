/*
 * report.c — the root's messages about a run and their counters (see
 * report.h).
 *
 * Design: plain stdio on the root, each message flushed where its order
 * against standard output matters; the journal figures appear only when
 * a journal is in use (MF_JOURNAL), so runs without one print exactly
 * what they did before journals existed.
 */
#define _POSIX_C_SOURCE 200809L

#include "report.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* The executor of the phase that runs, for report_future_error(). */
static mf_executor *g_ex;
static size_t g_done; /* integers finished by run_set (atomic: the root's
                         watchdog thread reads it) */

void report_set_executor(mf_executor *ex)
{
    g_ex = ex;
}

void set_done(size_t v)
{
    __atomic_store_n(&g_done, v, __ATOMIC_RELAXED);
}

size_t get_done(void)
{
    return __atomic_load_n(&g_done, __ATOMIC_RELAXED);
}

int g_release_errors;

void release_future(mf_future f)
{
    int e = mf_future_release(f);
    if (e != MF_OK) {
        fprintf(stderr,
                "mf-factorial: internal error: releasing a future: %s (%s)\n",
                mf_strerror(e), mf_last_error());
        g_release_errors++;
    }
}

int journal_on(void)
{
    const char *j = getenv("MF_JOURNAL");
    return j != NULL && *j != '\0';
}

size_t journal_reused(mf_executor *ex)
{
    size_t r = 0;
    if (mf_executor_journal(ex, NULL, &r, NULL) != MF_OK)
        return 0;
    return r;
}

void journal_report(mf_executor *ex, const char *what, size_t got, size_t of,
                    size_t tasks_got, size_t tasks)
{
    if (!journal_on())
        return;
    size_t loaded = 0, torn = 0;
    mf_executor_journal(ex, &loaded, NULL, &torn);
    fprintf(stderr,
            "mf-factorial: journal: %zu of %zu %s (%zu of %zu tasks) taken "
            "from the journal, not recomputed (%zu records loaded",
            got, of, what, tasks_got, tasks, loaded);
    if (torn)
        fprintf(stderr, "; a torn end of %zu bytes dropped", torn);
    fputs(")\n", stderr);
    fflush(stderr);
}

int report_future_error(mf_future f, int rc, const char *what)
{
    /* After a signal, cancelled and abandoned futures are expected: the
     * run reports the interruption once, not each future. */
    if (g_ex && mf_executor_interrupted(g_ex))
        return EX_INTERRUPTED;
    const mf_task_error *e = NULL;
    if (rc == MF_ETASK && mf_future_error(f, 0, &e) == MF_OK && e)
        fprintf(stderr, "mf-factorial: %s failed on rank %d (%s): %s\n", what,
                e->rank, e->host ? e->host : "?",
                e->message ? e->message : "");
    else
        fprintf(stderr, "mf-factorial: %s: %s (%s)\n", what, mf_strerror(rc),
                mf_last_error());
    return EX_RUNTIME;
}

static const char *sig_name(int sig)
{
    return sig == SIGTERM   ? "TERM"
           : sig == SIGINT  ? "INT"
           : sig == SIGUSR1 ? "USR1"
                            : "?";
}

void report_interrupted(int phase, int sig, const opts *o)
{
    const char *ab = sig_name(sig);
    if (phase == 1)
        fprintf(stderr,
                "mf-factorial: interrupted by SIG%s: %zu of %zu "
                "integers finished, the rest cancelled; no "
                "summary\n",
                ab ? ab : "?", get_done(), o->count);
    else
        fprintf(stderr,
                "mf-factorial: interrupted by SIG%s: --huge %llu "
                "not finished (0 of 1 done); no result\n",
                ab ? ab : "?", (unsigned long long)o->huge);
    fflush(stderr);
}

int write_value_file(const char *dir, uint64_t n, const char *dec)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%llu.txt", dir, (unsigned long long)n);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "mf-factorial: %s: %s\n", path, strerror(errno));
        return EX_RUNTIME;
    }
    int bad = fputs(dec, f) < 0 || fputc('\n', f) < 0;
    bad |= fclose(f) != 0;
    if (bad) {
        fprintf(stderr, "mf-factorial: writing %s failed\n", path);
        return EX_RUNTIME;
    }
    return EX_OK;
}
