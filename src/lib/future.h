/*
 * future.h — futures: the state machine, callbacks and watchers, handles and
 * slots (future.c, handle.c). Nothing here knows the executor: it finishes a
 * future, the executor accounts for it (mf__ex_finish).
 */
#ifndef MF_FUTURE_H
#define MF_FUTURE_H

#include "mpifutures.h"
#include "rbuf.h"
#include <stdbool.h>
#include <stdint.h>

enum mf_fstate {
    MF_FS_PENDING = 0, /* queued on the root */
    MF_FS_RUNNING,     /* sent to a worker */
    MF_FS_OK,          /* finished with a result */
    MF_FS_FAILED,      /* finished with a task error */
    MF_FS_CANCELLED
};

typedef struct mf_cb {
    mf_done_fn fn;
    void *ud;
} mf_cb;

typedef struct mf_ferr {
    mf_task_error pub;
    char *message;
    char *function;
    char *host;
} mf_ferr;
extern mf_ferr mf__oom_err; /* shared, never freed */

#define MF_INLINE_ARG 16

/* The worker rank f is kept off, or pinned to; -1 if none. */
#define MF_AVOIDS(f) ((f)->place > 0 ? (f)->place - 1 : -1)
#define MF_PINNED(f) ((f)->place < 0 ? -(f)->place - 1 : -1)

typedef struct mf_fut {
    uint32_t gen;    /* handle generation of this slot */
    uint32_t index;  /* slot index */
    uint32_t refs;   /* user references */
    uint8_t live;    /* slot in use */
    uint8_t state;   /* enum mf_fstate */
    uint8_t held;    /* counted in the executor's outstanding work */
    uint8_t queued;  /* linked in the pending queue (removed lazily) */
    uint8_t in_cb;   /* callbacks deferred (1) or running (2) */
    uint8_t isolate; /* run in a child process */
    uint16_t nwatch; /* the first nwatch callbacks are the library's own
                        watchers, run under the lock at completion */
    int worker;      /* rank it was sent to */
    uint32_t mark;   /* scratch for duplicate detection (lock held) */
    uint32_t ncb, capcb;
    uint32_t nitems;     /* a chunk of map items (0 = a single task) */
    uint32_t timeout_ms; /* isolated run limit (0 = none) */
    /* Placement (mf_submit_opts): 1 + a worker rank to keep it off
     * (avoid), -(1 + the worker rank it must run on) (pin), 0: any. One
     * field, as the two exclude each other: a held future's slot is the
     * root's whole cost per task (see MF_AVOIDS/MF_PINNED). */
    int place;
    struct mf_executor *ex; /* opaque here: executor.h */
    struct mf_fut *next;    /* pending queue / free list */
    mf_fn_id fn;
    void *arg;                /* owned copy, inline_buf, or the caller's */
    void (*arg_free)(void *); /* the caller's buffer: how to release it */
    size_t arg_len;
    /* The slot is the root's whole cost of a held future, so what is
     * never needed at the same time shares space: the argument digest
     * (journal only) is dead once the result is recorded. */
    union {
        uint64_t digest[2]; /* until finished */
        struct {
            const void *res; /* once finished OK */
            size_t res_len;
        };
    };
    mf_rbuf *rbuf;
    mf_ferr *err;
    mf_cb cb0;  /* first callback inline */
    mf_cb *cbs; /* further callbacks */
    /* Small arguments until the task is sent; then small results (so a
     * held future keeps no message buffer alive: its slot is all). */
    uint64_t inline_buf[MF_INLINE_ARG / 8];
} mf_fut;

/* handle.c: slots for futures, addressed by (generation, index). */
mf_fut *mf__fut_alloc(void);
void mf__fut_slot_free(mf_fut *f);
mf_fut *mf__fut_lookup(mf_future h); /* NULL if stale */
mf_future mf__fut_handle(const mf_fut *f);
/* Call fn on every live future (rare, slow paths only). */
void mf__fut_foreach(void (*fn)(mf_fut *, void *), void *ctx);
/* future.c: a future the caller may use (referenced, or inside its own
 * callbacks); NULL if stale. */
mf_fut *mf__fut_usable(mf_future h);

/* future.c */
/* Mark finished, drop the executor's hold, run the watchers, defer the
 * user callbacks, free if unused. Everything about the outcome (result,
 * error with its reason) must be recorded before this call. */
void mf__fut_finish(mf_fut *f, int state);
void mf__fut_maybe_free(mf_fut *f);
/* A user callback, run after the lock is dropped. */
int mf__fut_add_cb(mf_fut *f, mf_done_fn fn, void *ud);
/* A library watcher (O(1), no user code), run under the lock at
 * completion, before any user callback. */
int mf__fut_add_watch(mf_fut *f, mf_done_fn fn, void *ud);
void mf__fut_remove_cb(mf_fut *f, mf_done_fn fn, void *ud);
static inline bool mf__fut_is_done(const mf_fut *f)
{
    return f->state >= MF_FS_OK;
}
/* Counters bumped on every completion / failure, to skip rescans. */
extern uint64_t mf__completions;
extern uint64_t mf__failures;
/* A fresh value for mf_fut.mark scans. */
uint32_t mf__next_mark(void);

#endif
