/*
 * wire.h — the message format between root and workers; not installed.
 *
 * A message is a 16-byte header followed by `count` records, each a fixed
 * record header and a payload padded to 8 bytes. All integers are in the
 * sender's byte order; the magic tells a reader of the other order apart
 * (heterogeneous jobs are rejected with MF_EPROTO). Every decoder checks
 * bounds: a truncated or garbage message is MF_EPROTO, never a crash.
 *
 *   header   magic u32 | version u8 | kind u8 | flags u16 | count u32 | 0 u32
 *   TASKS    tag u64 | fn u64 | len u64 | payload
 *   RESULTS  tag u64 | status u32 | 0 u32 | len u64 | ns u64 | payload
 *   SHUTDOWN header only
 */
#ifndef MF_WIRE_H
#define MF_WIRE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define MF_WIRE_MAGIC 0x5455464du /* "MFUT" read as little-endian */
#define MF_WIRE_VERSION 1
#define MF_WIRE_TAG 0x4d46 /* MPI tag of all library messages */
#define MF_WIRE_HDR 16
#define MF_WIRE_TASK_REC 24
#define MF_WIRE_RESULT_REC 32
/* Largest message: MPI counts are int. */
#define MF_WIRE_MAX ((size_t)0x7fffff00)

enum mf_wire_kind {
    MF_MSG_TASKS = 1,
    MF_MSG_RESULTS = 2,
    MF_MSG_SHUTDOWN = 3
};

enum mf_wire_status {
    MF_RS_OK = 0,     /* payload is the result */
    MF_RS_FAILED = 1, /* payload is an error message */
};

typedef struct mf_wire_rec {
    uint64_t tag;
    uint64_t fn;     /* TASKS */
    uint32_t status; /* RESULTS */
    uint64_t ns;     /* RESULTS: compute time */
    const void *data;
    size_t len;
} mf_wire_rec;

typedef struct mf_wire_reader {
    const unsigned char *buf;
    size_t len, off;
    int kind;
    uint32_t count, seen;
} mf_wire_reader;

/* Check the header of `buf`; MF_EPROTO with a detail message if bad. */
int mf_wire_open(mf_wire_reader *r, const void *buf, size_t len);
/* Next record: MF_OK, MF_EDONE after the last (and the message must end
 * there), MF_EPROTO if malformed. */
int mf_wire_next(mf_wire_reader *r, mf_wire_rec *rec);

/* A message under construction. Small payloads are copied into one
 * contiguous buffer; large ones are referenced and sent in place through
 * an MPI struct datatype (no extra copy). */
typedef struct mf_wire_seg {
    int ext;       /* 0: offset into buf; 1: external pointer */
    size_t off;    /* when !ext */
    const void *p; /* when ext */
    size_t len;
} mf_wire_seg;

typedef struct mf_send {
    unsigned char *buf;
    size_t len, cap;
    mf_wire_seg *segs;
    size_t nsegs, capsegs;
    size_t total;   /* bytes of the whole message */
    size_t seg_from; /* start of the buf segment being written */
    int has_ext;
    void **owned; /* external payloads to free after the send */
    size_t nowned, capowned;
    uint32_t count;
    MPI_Datatype type;
} mf_send;

/* Payloads at least this large are referenced, not copied. */
#define MF_WIRE_COPY_MAX 16384

int mf_wire_begin(mf_send *s, int kind);
/* Append a task record. If `owned` the payload is freed after sending
 * (ownership passes to `s`, also on failure). */
int mf_wire_add_task(mf_send *s, uint64_t tag, uint64_t fn, const void *p,
                     size_t len, int owned);
int mf_wire_add_result(mf_send *s, uint64_t tag, uint32_t status,
                       uint64_t ns, const void *p, size_t len, int owned);
/* Finish: after this, send with mf_wire_isend(). */
int mf_wire_finish(mf_send *s);
int mf_wire_isend(mf_send *s, int dest, MPI_Comm comm, MPI_Request *req);
void mf_wire_free(mf_send *s);

#endif
