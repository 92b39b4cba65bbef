/*
 * common.c — the few definitions behind common.h (see there).
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <stdlib.h>

int g_rank;

/* See common.h. */
long env_long(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return -1;
    return strtol(v, NULL, 10);
}
