/*
 * progress.h — the set run's progress bar (done/total, rate, ETA).
 *
 * Where it goes:
 *  - MF_PROGRESS=0: nowhere; MF_PROGRESS=1: standard error, always;
 *  - standard error, when it is a terminal;
 *  - else, under a launcher that pipes our output (mpirun does), the
 *    controlling terminal (/dev/tty) if there is one, but only while no
 *    result lines go to standard output (--quiet, or the demo once its
 *    sample of lines is printed): those travel through the launcher and
 *    would land in the middle of the bar.
 * Batch jobs (no terminal) and tests get no bar.
 *
 * Design: the program draws its own bar, not the library's progress
 * line, because only the program knows when result lines are going to
 * standard output; so MF_PROGRESS is taken out of the environment at
 * start (progress_take_env), before the library can read it.
 */
#ifndef MF_FACTORIAL_PROGRESS_H
#define MF_FACTORIAL_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

typedef struct progress {
    FILE *f;    /* where to draw, or NULL */
    int own;    /* f is /dev/tty: close it at the end */
    int direct; /* f is standard error (same stream order as stdout) */
    size_t total;
    double t0, last, busy_at;
} progress;

/* Keep MF_PROGRESS and take it out of the environment (every rank, first
 * thing); progress_free_env at the end. */
void progress_take_env(void);
void progress_free_env(void);

/* EX_OK, or a usage error when MF_PROGRESS is set to other than 0 or 1:
 * a typo must not silently pick a mode. */
int progress_check_env(void);

void progress_open(progress *pg, const opts *o, size_t total);

/* `stdout_busy`: result lines are still being printed to stdout. */
void progress_draw(progress *pg, size_t done, int final, int stdout_busy);

/* Before a result line goes to stdout (bar on standard error only). */
void progress_clear(progress *pg);

void progress_close(progress *pg);

#endif
