/*
 * report.h — what the root says about a run besides its result lines:
 * a failed future, the journal figures, an interruption, a value file of
 * --out; and the counters those messages quote.
 *
 * Design: both runs (set and huge), the watchdog and main print these
 * lines, so their wording lives in one place. The counters are globals
 * on purpose: the watchdog thread reads the count of finished integers
 * (atomically) to say how far a run got when a rank is lost, and a
 * failed release anywhere turns into exit status 3 at the end.
 */
#ifndef MF_FACTORIAL_REPORT_H
#define MF_FACTORIAL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <mpifutures.h>

#include "cli.h"

/* The executor of the phase that runs (NULL between phases), for
 * report_future_error(). */
void report_set_executor(mf_executor *ex);

/* Integers finished by run_set (atomic: the root's watchdog thread reads
 * it). */
void set_done(size_t v);
size_t get_done(void);

/* Release a future; a failure (a future released twice, or a stale
 * handle) is a bug of this program: reported, counted in
 * g_release_errors, and turned into exit status 3 by main. */
void release_future(mf_future f);
extern int g_release_errors;

/* A future that failed: the task's error (rank, host, message) or the
 * library's; EX_RUNTIME, or EX_INTERRUPTED after a signal (then nothing
 * is printed: the run reports the interruption once). */
int report_future_error(mf_future f, int rc, const char *what);

/* Journal figures printed on stderr (MF_JOURNAL): whether one is used. */
int journal_on(void);

/* The journal's reuse counter (futures completed from it so far). */
size_t journal_reused(mf_executor *ex);

/* "journal: GOT of OF WHAT (TASKS_GOT of TASKS tasks) taken from ..." */
void journal_report(mf_executor *ex, const char *what, size_t got, size_t of,
                    size_t tasks_got, size_t tasks);

/* "interrupted by SIG...": phase 1 the set, phase 2 the huge N. */
void report_interrupted(int phase, int sig, const opts *o);

/* Write n! in decimal to DIR/<n>.txt (--out); EX_OK or EX_RUNTIME. */
int write_value_file(const char *dir, uint64_t n, const char *dec);

#endif
