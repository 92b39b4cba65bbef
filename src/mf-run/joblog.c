/*
 * joblog.c — the job log of joblog.h (see there): the digest, the map of
 * a log being resumed, its loading, and the records' writing.
 *
 * Design: loading is forgiving where a killed job leaves damage (a torn
 * last line is ignored, a damaged record is skipped with a warning) and
 * strict where the file is not a log of mf-run at all (another header:
 * refused, so --resume never appends to some other file). In the map,
 * for one id the newest digest counts (an edited line) and, for the same
 * digest, the best state (ok over failed over retried).
 */
#define _GNU_SOURCE
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char joblog_header[] =
    "Seq\tAttempt\tRank\tHost\tStarttime\tJobRuntime\tExitval\tSignal\t"
    "Bytes\tStatus\tDigest\tCommand\n";

static int g_joblog_fd = -1;

/* FNV-1a, 64 bits. */
uint64_t digest(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t lm_slot(const logmap *m, uint64_t id)
{
    size_t i = (size_t)((id + 1) * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->key[i] && m->key[i] != id + 1)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void lm_put(logmap *m, uint64_t id, uint64_t dig, int st)
{
    if (2 * (m->n + 1) > m->cap) {
        logmap o = *m;
        m->cap = o.cap ? o.cap * 2 : 1024;
        m->key = calloc(m->cap, sizeof *m->key);
        m->dig = xmalloc(m->cap * sizeof *m->dig);
        m->st = xmalloc(m->cap);
        if (!m->key) {
            die_msg("out of memory");
            exit(EX_INTERNAL);
        }
        m->n = 0;
        for (size_t i = 0; i < o.cap; i++)
            if (o.key[i]) {
                size_t j = lm_slot(m, o.key[i] - 1);
                m->key[j] = o.key[i];
                m->dig[j] = o.dig[i];
                m->st[j] = o.st[i];
                m->n++;
            }
        free(o.key);
        free(o.dig);
        free(o.st);
    }
    size_t i = lm_slot(m, id);
    if (!m->key[i]) {
        m->key[i] = id + 1;
        m->n++;
        m->dig[i] = dig;
        m->st[i] = (unsigned char)st;
    } else if (m->dig[i] != dig) { /* an edited line: the newest counts */
        m->dig[i] = dig;
        m->st[i] = (unsigned char)st;
    } else if (st > m->st[i]) {
        m->st[i] = (unsigned char)st;
    }
}

/* 2 ok, 1 failed for good, 0 unknown, -1 no record with this digest. */
int lm_get(const logmap *m, uint64_t id, uint64_t dig)
{
    if (!m->cap)
        return -1;
    size_t i = lm_slot(m, id);
    if (!m->key[i] || m->dig[i] != dig)
        return -1;
    return m->st[i];
}

/* Load FILE: returns records read (>= 0), -1 for a bad file (message
 * printed). *keep receives the length up to the last whole line. */
long long joblog_load(const char *path, logmap *m, off_t *keep, int *exists)
{
    *keep = 0;
    *exists = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        die_msg("--joblog %s: %s", path, strerror(errno));
        return -1;
    }
    *exists = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long long recs = 0, lineno = 0;
    off_t pos = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[n - 1] != '\n')
            break; /* torn last line (killed job): ignored */
        if (lineno == 1) {
            if (strcmp(line, joblog_header) != 0) {
                die_msg("--joblog %s: not an mf-run job log (its first "
                        "line is not the mf-run header); give another file",
                        path);
                free(line);
                fclose(f);
                return -1;
            }
            pos += n;
            *keep = pos;
            continue;
        }
        /* Seq Attempt Rank Host Start Runtime Exit Signal Bytes Status
         * Digest Command */
        char *fld[12];
        int nf = 0;
        char *p = line;
        fld[nf++] = p;
        while (nf < 12 && (p = strchr(p, '\t')) != NULL) {
            *p++ = 0;
            fld[nf++] = p;
        }
        pos += n;
        *keep = pos;
        unsigned long long id;
        if (nf < 12 || parse_uint(fld[0], UINT64_MAX - 2, &id)) {
            fprintf(stderr,
                    "mf-run: --joblog %s line %lld: damaged record "
                    "skipped\n",
                    path, lineno);
            continue;
        }
        int st = 0;
        if (strcmp(fld[9], "ok") == 0)
            st = 2;
        else if (strcmp(fld[9], "failed") == 0 ||
                 strcmp(fld[9], "signal") == 0 ||
                 strcmp(fld[9], "timeout") == 0)
            st = 1;
        lm_put(m, id, strtoull(fld[10], NULL, 16), st);
        recs++;
    }
    free(line);
    fclose(f);
    return recs;
}

int joblog_open(const char *path, int exists, off_t keep)
{
    if (exists && keep > 0) {
        /* Drop a torn last line so the next record starts whole. */
        if (truncate(path, keep) != 0) {
            die_msg("--joblog %s: %s", path, strerror(errno));
            return -1;
        }
    }
    g_joblog_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (g_joblog_fd < 0) {
        die_msg("--joblog %s: cannot write it: %s", path, strerror(errno));
        return -1;
    }
    if (keep == 0) {
        if (ftruncate(g_joblog_fd, 0) != 0 ||
            write_all(g_joblog_fd, joblog_header, sizeof joblog_header - 1) !=
                0) {
            die_msg("--joblog %s: cannot write it: %s", path,
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

void joblog_write(const rrec *r, const char *host, int rank, const char *cmd,
                  size_t cmdlen, const char *status)
{
    if (g_joblog_fd < 0)
        return;
    size_t cap = 256 + strlen(host) + 2 * cmdlen;
    char *b = xmalloc(cap);
    int k = snprintf(b, cap,
                     "%llu\t%u\t%d\t%s\t%.3f\t%.3f\t%d\t%d\t%llu\t%s\t%016llx"
                     "\t",
                     (unsigned long long)r->id, r->attempt, rank, host,
                     r->start, r->runtime, r->exitval, r->sig,
                     (unsigned long long)(r->outbytes + r->errbytes), status,
                     (unsigned long long)digest(cmd, cmdlen));
    size_t o = (size_t)k;
    for (size_t i = 0; i < cmdlen; i++) {
        char c = cmd[i];
        if (c == '\\' || c == '\t' || c == '\n') {
            b[o++] = '\\';
            b[o++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
        } else {
            b[o++] = c;
        }
    }
    b[o++] = '\n';
    /* One write with O_APPEND: the record lands whole, at the end. */
    if (write_all(g_joblog_fd, b, o) != 0)
        die_msg("--joblog: write failed: %s", strerror(errno));
    free(b);
}

void joblog_close(void)
{
    if (g_joblog_fd >= 0 && close(g_joblog_fd) != 0)
        die_msg("--joblog: %s", strerror(errno));
}
