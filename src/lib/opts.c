/* opts.c — resolving an executor's options: defaults, the caller's
 * values, then the MF_* environment, then range checks.
 *
 * Every plain option is one row of a table (field, kind, environment
 * variable, limit), so each is read, overridden and checked the same way
 * and a new one is a line. Environment variables win over the program's
 * values, so a job script can tune a program without recompiling it; a bad
 * value is an error naming the variable, never silently ignored. Options
 * that depend on others (the initializer's argument, the progress thread's
 * MPI thread level) are checked after the table.
 */

#include "opts.h"

#include "errors.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MF_API void mf_executor_opts_init(mf_executor_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->window = MF_DEFAULT_WINDOW;
    opts->max_arg_bytes = MF_DEFAULT_MAX_ARG;
    opts->idle_sleep_max_us = MF_DEFAULT_IDLE_US;
    opts->grace_seconds = MF_DEFAULT_GRACE;
    opts->progress_interval = 10;
}

typedef enum mf_okind {
    MF_O_UINT,    /* unsigned: 0 from the caller = default; 1..max */
    MF_O_SIZE,    /* size_t, the same */
    MF_O_FLAG,    /* int, 0 or 1 */
    MF_O_SECONDS, /* double, 0..max (0 = none) */
    MF_O_PATH     /* const char *, empty = none */
} mf_okind;

typedef struct mf_opt_row {
    const char *name; /* the field, as the messages say it */
    const char *env;  /* the variable overriding it */
    mf_okind kind;
    size_t off;
    double max;
} mf_opt_row;

#define MF_ROW(field, env, kind, max)                                        \
    {                                                                        \
#field, env, kind, offsetof(mf_executor_opts, field), max            \
    }

static const mf_opt_row mf_opt_rows[] = {
    MF_ROW(window, "MF_WINDOW", MF_O_UINT, MF_MAX_WINDOW),
    MF_ROW(max_arg_bytes, "MF_MAX_ARG_BYTES", MF_O_SIZE, MF_DEFAULT_MAX_ARG),
    MF_ROW(idle_sleep_max_us, "MF_IDLE_SLEEP_US", MF_O_UINT, 1000000),
    MF_ROW(grace_seconds, "MF_GRACE_SECONDS", MF_O_UINT, 86400),
    MF_ROW(progress_interval, "MF_PROGRESS_INTERVAL", MF_O_UINT, 86400),
    MF_ROW(progress_thread, "MF_PROGRESS_THREAD", MF_O_FLAG, 1),
    MF_ROW(handle_signals, "MF_SIGNALS", MF_O_FLAG, 1),
    MF_ROW(stats, "MF_STATS", MF_O_FLAG, 1),
    MF_ROW(progress, "MF_PROGRESS", MF_O_FLAG, 1),
    MF_ROW(isolate, "MF_ISOLATE", MF_O_FLAG, 1),
    MF_ROW(task_timeout, "MF_TASK_TIMEOUT", MF_O_SECONDS, 4.2e6),
    MF_ROW(trace_path, "MF_TRACE", MF_O_PATH, 0),
    MF_ROW(journal_path, "MF_JOURNAL", MF_O_PATH, 0),
};

/* The caller's value of one row (a zero number keeps the default). */
static void mf_opt_take(const mf_opt_row *r, const mf_executor_opts *in,
                        mf_executor_opts *out)
{
    const void *src = (const char *)in + r->off;
    void *dst = (char *)out + r->off;
    switch (r->kind) {
    case MF_O_UINT:
        if (*(const unsigned *)src)
            *(unsigned *)dst = *(const unsigned *)src;
        break;
    case MF_O_SIZE:
        if (*(const size_t *)src)
            *(size_t *)dst = *(const size_t *)src;
        break;
    case MF_O_FLAG:
        *(int *)dst = *(const int *)src;
        break;
    case MF_O_SECONDS:
        *(double *)dst = *(const double *)src;
        break;
    case MF_O_PATH:
        *(const char **)dst = *(const char *const *)src;
        break;
    }
}

/* The environment's value of one row: MF_OK (set or unset), or MF_EINVAL
 * with a message naming the variable. */
static int mf_opt_env(const mf_opt_row *r, mf_executor_opts *out, char *msg,
                      size_t msglen)
{
    const char *v = getenv(r->env);
    void *dst = (char *)out + r->off;
    char *end;
    if (!v || !*v)
        return MF_OK;
    errno = 0;
    switch (r->kind) {
    case MF_O_UINT:
    case MF_O_SIZE: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || *end || *v == '-' || x == 0 || (double)x > r->max) {
            snprintf(msg, msglen,
                     "environment variable %s='%.40s' is not a whole number "
                     "from 1 to %.0f",
                     r->env, v, r->max);
            return MF_EINVAL;
        }
        if (r->kind == MF_O_UINT)
            *(unsigned *)dst = (unsigned)x;
        else
            *(size_t *)dst = (size_t)x;
        return MF_OK;
    }
    case MF_O_FLAG:
        if (strcmp(v, "0") && strcmp(v, "1")) {
            snprintf(msg, msglen,
                     "environment variable %s='%.40s' is not 0 or 1", r->env,
                     v);
            return MF_EINVAL;
        }
        *(int *)dst = *v == '1';
        return MF_OK;
    case MF_O_SECONDS: {
        double d = strtod(v, &end);
        if (errno || *end || !(d >= 0) || d > r->max) {
            snprintf(msg, msglen,
                     "environment variable %s='%.40s' is not a number of "
                     "seconds from 0 to %.0f",
                     r->env, v, r->max);
            return MF_EINVAL;
        }
        *(double *)dst = d;
        return MF_OK;
    }
    case MF_O_PATH:
        *(const char **)dst = v;
        return MF_OK;
    }
    return MF_OK;
}

/* The range check of one row, whatever set it. */
static int mf_opt_check(const mf_opt_row *r, mf_executor_opts *out, char *msg,
                        size_t msglen)
{
    void *p = (char *)out + r->off;
    switch (r->kind) {
    case MF_O_UINT:
        if (*(unsigned *)p > r->max) {
            snprintf(msg, msglen, "option %s=%u is above %.0f", r->name,
                     *(unsigned *)p, r->max);
            return MF_EINVAL;
        }
        break;
    case MF_O_SIZE:
        if ((double)*(size_t *)p > r->max) {
            snprintf(msg, msglen, "option %s=%zu is above %.0f", r->name,
                     *(size_t *)p, r->max);
            return MF_EINVAL;
        }
        break;
    case MF_O_FLAG:
        if (*(int *)p != 0 && *(int *)p != 1) {
            snprintf(msg, msglen, "option %s=%d is not 0 or 1", r->name,
                     *(int *)p);
            return MF_EINVAL;
        }
        break;
    case MF_O_SECONDS:
        if (!(*(double *)p >= 0) || *(double *)p > r->max) {
            snprintf(msg, msglen, "option %s=%g is out of range (0 to %.0f)",
                     r->name, *(double *)p, r->max);
            return MF_EINVAL;
        }
        break;
    case MF_O_PATH:
        if (*(const char **)p && !**(const char **)p)
            *(const char **)p = NULL;
        break;
    }
    return MF_OK;
}

int mf__opts_resolve(const mf_executor_opts *in, mf_executor_opts *out,
                     char *msg, size_t msglen)
{
    const size_t nrows = sizeof mf_opt_rows / sizeof mf_opt_rows[0];
    int rc;
    mf_executor_opts_init(out);
    for (size_t i = 0; i < nrows; i++) {
        if (in)
            mf_opt_take(&mf_opt_rows[i], in, out);
        if ((rc = mf_opt_env(&mf_opt_rows[i], out, msg, msglen)) != MF_OK ||
            (rc = mf_opt_check(&mf_opt_rows[i], out, msg, msglen)) != MF_OK)
            return rc;
    }
    if (in) {
        out->initializer = in->initializer;
        out->initializer_arg = in->initializer_arg;
        out->initializer_len = in->initializer_len;
    }
    if (out->initializer_len && !out->initializer_arg) {
        snprintf(msg, msglen,
                 "option initializer_len=%zu with a NULL initializer_arg",
                 out->initializer_len);
        return MF_EINVAL;
    }
    if (out->initializer_len > MF_DEFAULT_MAX_ARG) {
        snprintf(msg, msglen, "option initializer_len=%zu is above 1 GiB",
                 out->initializer_len);
        return MF_EINVAL;
    }
    int mpi_up = 0, mpi_down = 0;
    MPI_Initialized(&mpi_up);
    MPI_Finalized(&mpi_down);
    if (out->progress_thread && mpi_up && !mpi_down) {
        /* (Without MPI, a local pool's progress thread needs nothing.) */
        int level = MPI_THREAD_SINGLE;
        MPI_Query_thread(&level);
        if (level < MPI_THREAD_MULTIPLE) {
            snprintf(msg, msglen,
                     "the progress thread needs MPI initialised with "
                     "MPI_THREAD_MULTIPLE (mf_init() asks for it)");
            return MF_EINVAL;
        }
    }
    return MF_OK;
}

/* Seconds to whole milliseconds for the wire (at least 1 if positive;
 * none for 0, negative or NaN). */
int mf__timeout_ms(double t, uint32_t *ms)
{
    if (!(t > 0)) {
        *ms = 0;
        return MF_OK;
    }
    if (t > 4.2e6)
        return MF_EINVAL;
    *ms = (uint32_t)(t * 1000.0 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return MF_OK;
}

int mf__env_long(const char *name, long lo, long hi, const char *what,
                 long *out)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return MF_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (*end || errno || x < lo || x > hi)
        return mf__fail(MF_EINVAL,
                        "environment variable %s='%.40s' is not a whole "
                        "number %s",
                        name, v, what);
    *out = x;
    return MF_OK;
}
