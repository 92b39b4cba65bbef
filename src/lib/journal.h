/*
 * journal.h — the resume journal (journal.c).
 */
#ifndef MF_JOURNAL_H
#define MF_JOURNAL_H

#include "registry.h"
#include <stddef.h>
#include <stdint.h>

/* Write all n bytes to fd (retrying short writes and EINTR): 0, or -1. */
int mf__write_all(int fd, const void *p, size_t n);
typedef struct mf_journal mf_journal;
void mf__hash128(const void *data, size_t len, uint64_t seed,
                 uint64_t out[2]);
uint64_t mf__registry_digest(const mf_reg_snap *s);
int mf__journal_open(const char *path, uint64_t regdigest, mf_journal **out,
                     char *msg, size_t msglen);
int mf__journal_parse(mf_journal *j, const unsigned char *buf, size_t len,
                      uint64_t regdigest, size_t *good, char *msg,
                      size_t msglen);
void mf__journal_close(mf_journal *j);
void mf__journal_digest(const void *arg, size_t len, uint64_t d[2]);
int mf__journal_find(mf_journal *j, uint64_t fn, const uint64_t d[2],
                     uint32_t *status, uint32_t *reason, const void **bytes,
                     size_t *len);
int mf__journal_append(mf_journal *j, uint64_t fn, const uint64_t d[2],
                       uint32_t status, uint32_t reason, const void *bytes,
                       size_t len);
void mf__journal_counts(const mf_journal *j, size_t *loaded, size_t *reused,
                        size_t *torn);
/* Records skipped at open: damaged ones (bad checksum or header, with
 * good records after them), and stale ones (a timeout, a crash or any
 * other outcome that is not replayed; written by older versions). */
void mf__journal_skipped(const mf_journal *j, size_t *damaged, size_t *stale);

#endif
