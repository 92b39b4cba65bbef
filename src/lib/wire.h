/*
 * wire.h — the message format between root and workers; not installed.
 *
 * A message is a 16-byte header followed by `count` records, each a fixed
 * record header (32 bytes for tasks, 40 for results) and a payload padded
 * to 8 bytes. All integers are
 * in the sender's byte order; the magic tells a reader of the other order
 * apart (heterogeneous jobs are refused with MF_EPROTO). Every decoder
 * checks bounds: a truncated or garbage message is MF_EPROTO, never a
 * crash.
 *
 *   header   magic u32 | version u8 | kind u8 | flags u16 | count u32 | 0 u32
 *   TASKS    tag u64 | fn u64 | len u64 | flags u32 | timeout_ms u32 |
 *            payload
 *   RESULTS  tag u64 | status u32 | flags u32 | len u64 | start u64 |
 *            ns u64 | payload   (start: the worker's monotonic clock, ns)
 *   SHUTDOWN header only
 *   RECALL   header only (root to worker: give back the tasks you have
 *            not started)
 *   RETURNED TASKS records (worker to root: the tasks it had not started
 *            when the RECALL came, now removed from its queue; possibly
 *            none); the root queues them again
 *
 * Large payloads (MF_WIRE_OOL_MIN bytes and more) travel out of line: the
 * record has flag MF_REC_OOL and no inline bytes, and the payload follows
 * as a message of its own with tag MF_WIRE_TAG_DATA, in record order (MPI
 * keeps messages between two ranks with one tag in order). A contiguous
 * buffer goes through MPI's single-copy path; nothing is staged.
 */
#ifndef MF_WIRE_H
#define MF_WIRE_H

#include "rbuf.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define MF_WIRE_MAGIC 0x5455464du /* "MFUT" read as little-endian */
#define MF_WIRE_VERSION 1
#define MF_WIRE_TAG 0x4d46      /* MPI tag of the library messages */
#define MF_WIRE_TAG_DATA 0x4d47 /* MPI tag of out-of-line payloads */
#define MF_WIRE_HDR 16
#define MF_WIRE_TASK_REC 32
#define MF_WIRE_RESULT_REC 40
/* Largest message: MPI counts are int. */
#define MF_WIRE_MAX ((size_t)0x7fffff00)

enum mf_wire_kind {
    MF_MSG_TASKS = 1,
    MF_MSG_RESULTS = 2,
    MF_MSG_SHUTDOWN = 3,
    MF_MSG_RECALL = 4,
    MF_MSG_RETURNED = 5
};

#define MF_REC_OOL 1u     /* record flag: payload sent out of line */
#define MF_REC_CHUNK 2u   /* record flag: a chunk of map items (below) */
#define MF_REC_ISOLATE 4u /* task flag: run in a child process */

/*
 * A chunk task's payload:   n u64 | len u64 x n | each argument, padded
 * Its result's payload:     n u64 | (status u32, 0 u32, len u64) x n |
 *                           each result or error message, padded
 */

/* Header flag of TASKS: the root has more work queued, so the worker
 * should keep polling rather than sleep. */
#define MF_HDR_MORE 1u

enum mf_wire_status {
    MF_RS_OK = 0,      /* payload is the result */
    MF_RS_FAILED = 1,  /* payload is an error message */
    MF_RS_CRASHED = 2, /* isolated task died; payload says how */
    MF_RS_TIMEOUT = 3, /* isolated task killed at its timeout */
};

typedef struct mf_wire_rec {
    uint64_t tag;
    uint64_t fn;         /* TASKS, RETURNED */
    uint32_t status;     /* RESULTS */
    uint64_t start;      /* RESULTS: when the task started (worker clock) */
    uint64_t ns;         /* RESULTS: compute time */
    int ool;             /* payload follows out of line; data is NULL */
    int chunk;           /* MF_REC_CHUNK */
    int isolate;         /* MF_REC_ISOLATE */
    uint32_t timeout_ms; /* TASKS, RETURNED: 0 = none */
    const void *data;
    size_t len;
} mf_wire_rec;

typedef struct mf_wire_reader {
    const unsigned char *buf;
    size_t len, off;
    int kind;
    unsigned flags; /* header flags */
    uint32_t count, seen;
} mf_wire_reader;

/* Check the header of `buf`; MF_EPROTO with a detail message if bad. */
int mf__wire_open(mf_wire_reader *r, const void *buf, size_t len);
/* Next record: MF_OK, MF_EDONE after the last (and the message must end
 * there), MF_EPROTO if malformed. */
int mf__wire_next(mf_wire_reader *r, mf_wire_rec *rec);

/* A message under construction: headers and small payloads are copied
 * into one buffer; large payloads are referenced and sent in place. */
typedef void (*mf_free_fn)(void *);

typedef struct mf_wire_ool {
    const void *p;
    size_t len;
    mf_free_fn release; /* called after sending (NULL: not ours) */
    /* Set by a link that sends the payload as a reference to a shared
     * block instead of its bytes (link_local.c): {address, length}. */
    uint64_t ref[2];
    int isref;
} mf_wire_ool;

typedef struct mf_send {
    unsigned char *buf;
    size_t len, cap;
    uint32_t count;
    mf_wire_ool *ool;
    size_t nool, capool;
    size_t total;      /* bytes inline plus out of line */
    MPI_Request *reqs; /* 1 + nool, once sent (the MPI link) */
    int nreqs;
    int sent; /* every part written (stream links) */
} mf_send;

/* A length rounded up to a multiple of 8 (records and chunk items are
 * 8-byte aligned). */
#define MF_PAD8(n) (((n) + 7u) & ~(size_t)7u)

/* Payloads at least this large go out of line. */
#define MF_WIRE_OOL_MIN 32768

int mf__wire_begin(mf_send *s, int kind);
/* Append a task record. If `owned` the payload is freed after sending
 * (ownership passes to `s` even on failure). */
int mf__wire_add_task(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                      size_t len, int owned, uint32_t flags);
/* The same with a timeout (milliseconds, 0 = none) and the function that
 * releases the payload once sent (NULL: the caller keeps it). */
int mf__wire_add_task_t(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                        size_t len, mf_free_fn release, uint32_t flags,
                        uint32_t timeout_ms);
int mf__wire_add_result(mf_send *s, uint64_t tag, uint32_t status,
                        uint64_t start, uint64_t ns, const void *p,
                        size_t len, int owned, uint32_t flags);

/* A parsed chunk (arguments or results), bounds-checked. */
typedef struct mf_chunk_view {
    size_t n;
    const uint32_t *status; /* results only; NULL for arguments */
    const unsigned char **ptr;
    size_t *len;
    uint32_t *st; /* storage for status */
} mf_chunk_view;
/* mf__wire_add_result with the payload's release function (NULL: the
 * caller keeps it). */
int mf__wire_add_result_r(mf_send *s, uint64_t tag, uint32_t status,
                          uint64_t start, uint64_t ns, const void *p,
                          size_t len, mf_free_fn release, uint32_t flags);

/* Parse a chunk payload; `results` selects the format. MF_EPROTO if
 * malformed, MF_ENOMEM. Free with mf__chunk_view_free(). */
int mf__chunk_parse(const void *p, size_t len, int results, mf_chunk_view *v);
void mf__chunk_view_free(mf_chunk_view *v);
void mf__wire_set_flags(mf_send *s, unsigned flags);
/* Finish the header; MF_E2BIG if the inline part is too large for MPI. */
int mf__wire_finish(mf_send *s);
/* Post the message and its out-of-line payloads to `dest`. */
int mf__wire_isend(mf_send *s, int dest, MPI_Comm comm);
/* 1 when every part has been sent (s may then be freed), else 0. */
int mf__wire_test(mf_send *s);
int mf__wire_wait(mf_send *s);
void mf__wire_free(mf_send *s);

/* Receive an out-of-line payload of `len` bytes from `src` into a new
 * buffer (the record that announced it was read first). */
int mf__wire_recv_ool(MPI_Comm comm, int src, size_t len, mf_rbuf **out);

#endif
