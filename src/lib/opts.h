/*
 * opts.h — resolving an executor's options (opts.c).
 */
#ifndef MF_OPTS_H
#define MF_OPTS_H

#include "mpifutures.h"
#include <stdint.h>

#define MF_DEFAULT_WINDOW 64
#define MF_MAX_WINDOW 65536u
#define MF_DEFAULT_MAX_ARG ((size_t)1 << 30)
#define MF_DEFAULT_IDLE_US 10000
#define MF_DEFAULT_GRACE 10
/* Defaults, then the caller's values, then MF_* variables, then range
 * checks: MF_OK or MF_EINVAL with a message in msg. */
int mf__opts_resolve(const mf_executor_opts *in, mf_executor_opts *out,
                     char *msg, size_t msglen);
/* Seconds to whole milliseconds (>= 1 if positive; 0 for none). */
int mf__timeout_ms(double t, uint32_t *ms);
/* An MF_* setting outside the option table: a whole number from lo to
 * hi in environment variable `name`, into *out when it is set (*out is
 * left alone when it is not). MF_OK, or MF_EINVAL saying the value is not
 * "a whole number <what>". */
int mf__env_long(const char *name, long lo, long hi, const char *what,
                 long *out);

#endif
