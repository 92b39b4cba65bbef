/* handle.c — slots for futures, addressed by handles.
 *
 * A handle is (generation << 32 | index). Slots live in fixed chunks that
 * never move, and a freed slot's generation is bumped, so a stale handle
 * (double release, use after release) is recognised and refused instead of
 * touching freed memory. Freed slots are reused first-in first-out, so a
 * stale handle's slot is reused as late as possible. All under the lock.
 */

#include "future.h"

#include <stdlib.h>
#include <string.h>

#define MF_CHUNK_BITS 12
#define MF_CHUNK (1u << MF_CHUNK_BITS)
#define MF_MAX_CHUNKS (1u << 16) /* 268M futures at once */

static mf_fut *mf_chunks[MF_MAX_CHUNKS];
static uint32_t mf_nslots = 1; /* index 0 is the null handle */
static mf_fut *mf_free_head, *mf_free_tail;

static mf_fut *mf_slot(uint32_t index)
{
    return &mf_chunks[index >> MF_CHUNK_BITS][index & (MF_CHUNK - 1)];
}

mf_fut *mf__fut_alloc(void)
{
    mf_fut *f = mf_free_head;
    if (f) {
        mf_free_head = f->next;
        if (!mf_free_head)
            mf_free_tail = NULL;
    } else {
        uint32_t idx = mf_nslots;
        uint32_t c = idx >> MF_CHUNK_BITS;
        if (c >= MF_MAX_CHUNKS)
            return NULL;
        if (!mf_chunks[c]) {
            /* Kept for reuse for the life of the process (a slab), so
             * not counted as a live allocation. */
            mf_chunks[c] = calloc(MF_CHUNK, sizeof(mf_fut));
            if (!mf_chunks[c])
                return NULL;
        }
        mf_nslots++;
        f = mf_slot(idx);
        f->index = idx;
        f->gen = 1;
    }
    uint32_t gen = f->gen, index = f->index;
    memset(f, 0, sizeof *f);
    f->gen = gen;
    f->index = index;
    f->live = 1;
    f->worker = -1;
    return f;
}

void mf__fut_slot_free(mf_fut *f)
{
    f->live = 0;
    f->gen++;
    if (f->gen == 0)
        f->gen = 1;
    f->next = NULL;
    if (mf_free_tail)
        mf_free_tail->next = f;
    else
        mf_free_head = f;
    mf_free_tail = f;
}

mf_fut *mf__fut_lookup(mf_future h)
{
    uint32_t index = (uint32_t)h.h, gen = (uint32_t)(h.h >> 32);
    if (index == 0 || index >= mf_nslots)
        return NULL;
    mf_fut *f = mf_slot(index);
    if (!f->live || f->gen != gen)
        return NULL;
    return f;
}

mf_future mf__fut_handle(const mf_fut *f)
{
    mf_future h = {((uint64_t)f->gen << 32) | f->index};
    return h;
}

void mf__fut_foreach(void (*fn)(mf_fut *, void *), void *ctx)
{
    for (uint32_t i = 1; i < mf_nslots; i++) {
        mf_fut *f = mf_slot(i);
        if (f->live)
            fn(f, ctx);
    }
}
