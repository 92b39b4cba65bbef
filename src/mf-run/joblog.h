/*
 * joblog.h — the job log (--joblog FILE): one tab-separated record per
 * finished attempt, written by the root, and read back for --resume.
 *
 *   Seq Attempt Rank Host Starttime JobRuntime Exitval Signal Bytes
 *   Status Digest Command
 *
 * Design: a task is known across runs by its id (the input's order) and
 * the digest of its command text (FNV-1a, 64 bits), so an edited line
 * runs again while the others are skipped; the records of a log being
 * resumed go into a hash map (id -> digest, state), the tasks never
 * into memory. Each record is one write on an O_APPEND descriptor, so a
 * record lands whole at the end even if the job is killed; a torn last
 * line (a kill mid-write) is cut off before the run appends.
 */
#ifndef MF_RUN_JOBLOG_H
#define MF_RUN_JOBLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

/* id -> (digest, state) of the log being resumed: open addressing. */
typedef struct logmap {
    uint64_t *key; /* id + 1; 0 empty */
    uint64_t *dig;
    unsigned char *st; /* 2 ok, 1 failed for good, 0 no final record */
    size_t cap, n;
} logmap;

/* The digest of a command text in the job log. */
uint64_t digest(const char *s, size_t n);

/* 2 ok, 1 failed for good, 0 unknown, -1 no record with this digest. */
int lm_get(const logmap *m, uint64_t id, uint64_t dig);

/* Load FILE: returns records read (>= 0), -1 for a bad file (message
 * printed). *keep receives the length up to the last whole line. */
long long joblog_load(const char *path, logmap *m, off_t *keep, int *exists);

/* Open FILE for the records of this run (as joblog_load left `exists`
 * and `keep`: the torn line cut off, the header written to a new log):
 * 0, or -1 (message printed). */
int joblog_open(const char *path, int exists, off_t keep);

/* One record (nothing without an open log); Host is `host`. */
void joblog_write(const rrec *r, const char *host, int rank, const char *cmd,
                  size_t cmdlen, const char *status);

/* Close the log (a failed close is reported). */
void joblog_close(void);

#endif
