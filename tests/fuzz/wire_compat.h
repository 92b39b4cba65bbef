/*
 * wire_compat.h — the fuzz targets and the corpus generator follow the
 * record layout of whichever src/wire.h they are built with, detected
 * from its macros:
 *   - one 32-byte record for both kinds (MF_WIRE_REC), or 32-byte task and
 *     40-byte result records with a `start` field (MF_WIRE_TASK_REC /
 *     MF_WIRE_RESULT_REC);
 *   - task records with a reserved zero word, or with `timeout_ms` there
 *     and the task flag MF_REC_ISOLATE (results then have the statuses
 *     up to MF_RS_TIMEOUT); with those, payloads are handed over with a
 *     release function (mf__wire_add_task_t, mf__wire_add_result_r,
 *     mf_wire_ool.release) instead of an `owned` flag.
 * When wire.h changes in another way, adapt this file (and regenerate the
 * corpus: build target fuzz_corpus).
 */
#ifndef MF_FUZZ_WIRE_COMPAT_H
#define MF_FUZZ_WIRE_COMPAT_H

#include "wire.h"

#if defined(MF_WIRE_TASK_REC) && defined(MF_WIRE_RESULT_REC)
#define FZ_TASK_REC ((size_t)MF_WIRE_TASK_REC)
#define FZ_RESULT_REC ((size_t)MF_WIRE_RESULT_REC)
#define FZ_HAVE_START 1
#define FZ_REC_START(rec) ((rec)->start)
#define FZ_ADD_RESULT(s, tag, st, start, ns, p, len, owned, fl)              \
    mf__wire_add_result(s, tag, st, start, ns, p, len, owned, fl)
#else
#define FZ_TASK_REC ((size_t)MF_WIRE_REC)
#define FZ_RESULT_REC ((size_t)MF_WIRE_REC)
#define FZ_HAVE_START 0
#define FZ_REC_START(rec) ((uint64_t)0)
#define FZ_ADD_RESULT(s, tag, st, start, ns, p, len, owned, fl)              \
    ((void)(start), mf__wire_add_result(s, tag, st, ns, p, len, owned, fl))
#endif

#ifdef MF_REC_ISOLATE
#define FZ_HAVE_ISOLATE 1
#define FZ_ISOLATE_FLAG MF_REC_ISOLATE
#define FZ_REC_ISOLATE(rec) ((rec)->isolate)
#define FZ_REC_TIMEOUT(rec) ((rec)->timeout_ms)
/* `rel`: the function that releases the payload once sent, NULL when the
 * caller keeps it. FZ_COUNTS_RELEASE: the library calls ours. */
#define FZ_COUNTS_RELEASE 1
#define FZ_ADD_TASK(s, tag, fn, p, len, rel, fl, tmo)                        \
    mf__wire_add_task_t(s, tag, fn, p, len, rel, fl, tmo)
#define FZ_ADD_RESULT_REL(s, tag, st, start, ns, p, len, rel, fl)            \
    mf__wire_add_result_r(s, tag, st, start, ns, p, len, rel, fl)
#define FZ_OOL_OWNED(o) ((o)->release != NULL)
/* Largest status of a RESULTS record. */
#define FZ_RS_MAX ((uint32_t)MF_RS_TIMEOUT)
#else
#define FZ_HAVE_ISOLATE 0
#define FZ_ISOLATE_FLAG 0u
#define FZ_REC_ISOLATE(rec) 0
#define FZ_REC_TIMEOUT(rec) ((uint32_t)0)
/* An `owned` flag: the library frees with free(), which we cannot count. */
#define FZ_COUNTS_RELEASE 0
#define FZ_ADD_TASK(s, tag, fn, p, len, rel, fl, tmo)                        \
    ((void)(tmo), mf__wire_add_task(s, tag, fn, p, len, (rel) != NULL, fl))
#define FZ_ADD_RESULT_REL(s, tag, st, start, ns, p, len, rel, fl)            \
    FZ_ADD_RESULT(s, tag, st, start, ns, p, len, (rel) != NULL, fl)
#define FZ_OOL_OWNED(o) ((o)->owned != 0)
#define FZ_RS_MAX ((uint32_t)MF_RS_FAILED)
#endif
/* Largest status of an item in a chunk of results. */
#define FZ_CHUNK_RS_MAX ((uint32_t)MF_RS_FAILED)

/* Record header size of a message kind. */
static inline size_t fz_rec_size(int kind)
{
    return kind == MF_MSG_TASKS || kind == MF_MSG_RETURNED ? FZ_TASK_REC
                                                           : FZ_RESULT_REC;
}

#endif
