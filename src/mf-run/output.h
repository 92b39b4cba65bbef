/*
 * output.h — the root's printing of the tasks' output: each task's
 * stdout, then its stderr, whole, to mf-run's stdout and stderr, in
 * completion order or (--keep-order) in task id order, with the task id
 * and a tab before each line under --tag; nothing under --output DIR
 * (the workers wrote the files).
 *
 * Design: output up to INLINE_MAX per stream arrives in the batch's
 * result; a larger one the worker left in the spill directory, and it
 * is streamed from there in CHUNK pieces, so the root never holds more
 * than a few MiB whatever the commands print. --keep-order keeps the
 * early outputs in an unlinked temporary file (the store) and only a
 * record per waiting task in memory (a ring indexed by id, grown by
 * doubling), so a slow task 1 does not make the root hold everything
 * that finished after it.
 */
#ifndef MF_RUN_OUTPUT_H
#define MF_RUN_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "protocol.h"

typedef struct output {
    int tag, keep_order, to_files; /* --tag, --keep-order, --output */
    const char *spilldir;
    int store_fd; /* --keep-order: outputs waiting for their turn */
    uint64_t store_end;
    /* --keep-order: ring of pending ids [next_print, ...) */
    struct pend *pend;
    size_t pcap;
    uint64_t next_print;
} output;

/* Set up from the options, the spill directory (kept by pointer) and,
 * for --keep-order, the store: 0, or -1 (message printed). */
int output_open(output *out, const opts *o, const char *spilldir);

/* A task's final record and its inline output: print now, or keep it
 * for its turn. */
void output_final(output *out, const rrec *r, const char *inl);

/* --keep-order: task `id` is skipped (resume): nothing to wait for. */
void output_skipped(output *out, uint64_t id);

/* Remove the spilled output of a record that is not printed (a retried
 * or interrupted attempt). */
void spill_discard(const output *out, const rrec *r);

#endif
