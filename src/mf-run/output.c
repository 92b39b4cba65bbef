/*
 * output.c — the root's printing (see output.h): a buffered writer that
 * adds the --tag prefixes, the three sources of a stream (the result,
 * the spill directory, the --keep-order store), and the --keep-order
 * queue.
 *
 * Design: every stream goes out through one CHUNK-sized buffer, written
 * with write_all straight to descriptor 1 or 2 (not through stdio) and
 * flushed at the end of the stream, so a task's stdout is out whole
 * before its stderr starts, and the next task's after both.
 */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

/* A task waiting for its turn (--keep-order): its record, and where its
 * inline output is in the store. */
struct pend {
    int used, skipped;
    uint64_t off;
    rrec r;
};

typedef struct outbuf {
    char b[CHUNK];
    size_t n;
    int fd;
} outbuf;

static void ob_flush(outbuf *ob)
{
    if (ob->n)
        write_all(ob->fd, ob->b, ob->n);
    ob->n = 0;
}

static void ob_put(outbuf *ob, const char *s, size_t n)
{
    while (n) {
        size_t k = sizeof ob->b - ob->n;
        if (k > n)
            k = n;
        memcpy(ob->b + ob->n, s, k);
        ob->n += k;
        s += k;
        n -= k;
        if (ob->n == sizeof ob->b)
            ob_flush(ob);
    }
}

/* Copy data to fd, with "ID\t" before each line when tagging. */
static void emit(outbuf *ob, const char *d, size_t n, const char *tag,
                 int *bol)
{
    if (!tag) {
        ob_put(ob, d, n);
        return;
    }
    size_t tl = strlen(tag);
    while (n) {
        if (*bol) {
            ob_put(ob, tag, tl);
            *bol = 0;
        }
        const char *nl = memchr(d, '\n', n);
        size_t k = nl ? (size_t)(nl - d) + 1 : n;
        ob_put(ob, d, k);
        if (nl)
            *bol = 1;
        d += k;
        n -= k;
    }
}

/* One stream of a task (fd 1 or 2), from where it is: the spill
 * directory, the --keep-order store, or the result (inl). */
static void print_stream(output *out, int fd, const rrec *r, const char *inl,
                         uint32_t inlen, int spilled, const char *ext,
                         int store_src, uint64_t store_off)
{
    outbuf *ob = xmalloc(sizeof *ob);
    ob->n = 0;
    ob->fd = fd;
    char tag[32];
    snprintf(tag, sizeof tag, "%llu\t", (unsigned long long)r->id);
    int bol = 1;
    const char *t = out->tag ? tag : NULL;
    if (spilled) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/%llu.%u.%s", out->spilldir,
                 (unsigned long long)r->id, r->attempt, ext);
        int in = open(p, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            die_msg(
                "task %llu: its %s (%llu bytes) is lost: %s: %s",
                (unsigned long long)r->id, ext,
                (unsigned long long)(*ext == 'o' ? r->outbytes : r->errbytes),
                p, strerror(errno));
        } else {
            char *buf = xmalloc(CHUNK);
            ssize_t k;
            while ((k = read(in, buf, CHUNK)) > 0)
                emit(ob, buf, (size_t)k, t, &bol);
            free(buf);
            close(in);
            unlink(p);
        }
    } else if (store_src) {
        char *buf = xmalloc(CHUNK);
        uint64_t done = 0;
        while (done < inlen) {
            size_t want = inlen - done > CHUNK ? CHUNK : inlen - done;
            ssize_t k =
                pread(out->store_fd, buf, want, (off_t)(store_off + done));
            if (k <= 0)
                break;
            emit(ob, buf, (size_t)k, t, &bol);
            done += (uint64_t)k;
        }
        free(buf);
    } else {
        emit(ob, inl, inlen, t, &bol);
    }
    ob_flush(ob);
    free(ob);
}

/* A task's stdout, then its stderr (stored: from the store at off). */
static void print_task(output *out, const rrec *r, const char *inl,
                       int stored, uint64_t off)
{
    if (out->to_files)
        return;
    print_stream(out, 1, r, inl, r->inl_out, r->spilled & 1, "out", stored,
                 off);
    print_stream(out, 2, r, inl ? inl + r->inl_out : NULL, r->inl_err,
                 r->spilled & 2, "err", stored, off + r->inl_out);
}

/* The ring entry of id, the ring grown to reach it. */
static struct pend *pend_at(output *out, uint64_t id)
{
    uint64_t need = id - out->next_print + 1;
    if (need > out->pcap) {
        size_t nc = out->pcap ? out->pcap : 1024;
        while (nc < need)
            nc *= 2;
        struct pend *np = calloc(nc, sizeof *np);
        if (!np) {
            die_msg("out of memory (keep-order queue)");
            exit(EX_INTERNAL);
        }
        for (uint64_t k = out->next_print; k < out->next_print + out->pcap;
             k++)
            np[k & (nc - 1)] = out->pend[k & (out->pcap - 1)];
        free(out->pend);
        out->pend = np;
        out->pcap = nc;
    }
    return &out->pend[id & (out->pcap - 1)];
}

/* Print the waiting tasks whose turn has come. */
static void pend_advance(output *out)
{
    while (out->pcap) {
        struct pend *p = &out->pend[out->next_print & (out->pcap - 1)];
        if (!p->used)
            break;
        if (!p->skipped)
            print_task(out, &p->r, NULL, 1, p->off);
        memset(p, 0, sizeof *p);
        out->next_print++;
    }
}

/* A task's final record: print now, or keep it for its turn. */
void output_final(output *out, const rrec *r, const char *inl)
{
    if (!out->keep_order) {
        print_task(out, r, inl, 0, 0);
        return;
    }
    if (r->id == out->next_print) {
        print_task(out, r, inl, 0, 0);
        out->next_print++;
        pend_advance(out);
        return;
    }
    struct pend *p = pend_at(out, r->id);
    p->used = 1;
    p->r = *r;
    p->off = out->store_end;
    size_t k = (size_t)r->inl_out + r->inl_err;
    if (k) {
        if (pwrite(out->store_fd, inl, k, (off_t)out->store_end) !=
            (ssize_t)k)
            die_msg("--keep-order: cannot keep the output of task %llu: "
                    "%s",
                    (unsigned long long)r->id, strerror(errno));
        out->store_end += k;
    }
}

void output_skipped(output *out, uint64_t id)
{
    if (!out->keep_order)
        return;
    if (id == out->next_print) {
        out->next_print++;
        pend_advance(out);
        return;
    }
    struct pend *p = pend_at(out, id);
    p->used = 1;
    p->skipped = 1;
}

void spill_discard(const output *out, const rrec *r)
{
    for (int s = 0; s < 2; s++)
        if (r->spilled & (1u << s)) {
            char p[PATH_MAX + 64];
            snprintf(p, sizeof p, "%s/%llu.%u.%s", out->spilldir,
                     (unsigned long long)r->id, r->attempt,
                     s ? "err" : "out");
            unlink(p);
        }
}

int output_open(output *out, const opts *o, const char *spilldir)
{
    out->tag = o->tag;
    out->keep_order = o->keep_order;
    out->to_files = o->outdir != NULL;
    out->spilldir = spilldir;
    out->next_print = 1;
    if (!o->keep_order)
        return 0;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    out->store_fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (out->store_fd < 0) {
        die_msg("--keep-order: cannot create a temporary file in %s: "
                "%s",
                tmp, strerror(errno));
        return -1;
    }
    return 0;
}
