/*
 * protocol.c — the status names of protocol.h (see there), the words of
 * the job log's Status column.
 */
#define _GNU_SOURCE
#include "protocol.h"

const char *const st_name[] = {"ok",      "failed",      "signal",
                               "timeout", "interrupted", "notrun"};
