/*
 * progress.c — the set run's progress bar (see progress.h for where it
 * goes).
 *
 * Design: drawing is rate-limited (10 per second) and, when the bar is
 * not on standard error, held back while result lines still travel
 * through the launcher, so a line never lands in the middle of the bar.
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* MF_PROGRESS as it was at start: the program's own bar uses it, and it
 * is taken out of the environment so the library draws no second one. */
static char *g_progress_env;

void progress_take_env(void)
{
    const char *pe = getenv("MF_PROGRESS");
    if (pe) {
        g_progress_env = strdup(pe);
        unsetenv("MF_PROGRESS");
    }
}

void progress_free_env(void)
{
    free(g_progress_env);
}

int progress_check_env(void)
{
    if (g_progress_env && *g_progress_env && strcmp(g_progress_env, "0") &&
        strcmp(g_progress_env, "1"))
        return usage_error("environment variable MF_PROGRESS='%.40s' "
                           "is not 0 or 1",
                           g_progress_env);
    return EX_OK;
}

void progress_open(progress *pg, const opts *o, size_t total)
{
    memset(pg, 0, sizeof *pg);
    pg->total = total;
    const char *env = g_progress_env;
    if (env && strcmp(env, "0") == 0)
        return;
    if ((env && strcmp(env, "1") == 0) || isatty(2)) {
        pg->f = stderr;
        pg->direct = 1;
        return;
    }
    if (o->quiet || o->max_lines) {
        pg->f = fopen("/dev/tty", "w");
        pg->own = pg->f != NULL;
    }
}

/* See progress.h. */
void progress_draw(progress *pg, size_t done, int final, int stdout_busy)
{
    if (!pg->f)
        return;
    double t = now();
    if (!pg->direct && stdout_busy) {
        pg->busy_at = t;
        return;
    }
    /* Let the launcher deliver the last result lines first. */
    if (!pg->direct && !final && t - pg->busy_at < 0.25)
        return;
    if (!final && t - pg->last < 0.1)
        return;
    if (final && pg->last == 0)
        return; /* never drawn: nothing to clear */
    pg->last = t;
    if (final) {
        fputs("\r\033[K", pg->f);
        fflush(pg->f);
        return;
    }
    double el = t - pg->t0, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(pg->total - done) / rate : 0;
    char bar[31];
    size_t fill = pg->total ? done * 30 / pg->total : 30;
    for (size_t i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(pg->f, "\r[%s] %zu/%zu  %.0f/s  ETA %.1fs \033[K", bar, done,
            pg->total, rate, eta);
    fflush(pg->f);
}

/* See progress.h. */
void progress_clear(progress *pg)
{
    if (pg->f && pg->direct && pg->last != 0) {
        fputs("\r\033[K", pg->f);
        fflush(pg->f);
        pg->last = 0;
    }
}

void progress_close(progress *pg)
{
    if (pg->own)
        fclose(pg->f);
    pg->f = NULL;
}
