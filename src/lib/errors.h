/*
 * errors.h — the calling thread's last error (error.c).
 */
#ifndef MF_ERRORS_H
#define MF_ERRORS_H

#include "mpifutures.h"

/* Record a detail message for mf_last_error() and return `err`. */
int mf__fail(int err, const char *fmt, ...) MF_PRINTF(2, 3);
void mf__clear_error(void);

#endif
