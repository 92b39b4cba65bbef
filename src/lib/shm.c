/* shm.c — shared regions of a local process pool (see shm.h).
 *
 * A block is a 16-byte header (its size, its busy word, the rank that
 * holds it) and the payload. The allocating process keeps the ring's
 * state (head, tail, bytes in use) in its own copy of the region struct;
 * only the busy words are shared. Each process also counts the blocks it
 * holds per region, so that the root can retire a region at close while
 * results that lie in it are still held: the mapping goes with the last
 * of them. The registry of regions is per process and inherited at fork.
 */
#include "shm.h"

#include "alloc.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MF_SHM_MAX 64 /* regions known to one process */

typedef struct mf_blk {
    uint64_t size;  /* whole block, header included; a multiple of 16 */
    uint32_t busy;  /* 1 until its holder releases it */
    int32_t holder; /* rank that will release it (-1: the allocator) */
} mf_blk;

struct mf_shm {
    unsigned char *base;
    size_t cap;
    size_t head, tail, used; /* the ring (allocating process only) */
    long held;               /* blocks this process holds */
    int retired;             /* the root is done: unmap at held == 0 */
};

static mf_shm *mf_regions[MF_SHM_MAX];

static size_t mf_pad16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

mf_shm *mf__shm_new(size_t bytes)
{
    int slot = -1;
    for (int i = 0; i < MF_SHM_MAX && slot < 0; i++)
        if (!__atomic_load_n(&mf_regions[i], __ATOMIC_ACQUIRE))
            slot = i;
    if (slot < 0)
        return NULL;
    mf_shm *r = mf__calloc(1, sizeof *r);
    if (!r)
        return NULL;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        mf__free(r);
        return NULL;
    }
    r->base = p;
    r->cap = bytes;
    __atomic_store_n(&mf_regions[slot], r, __ATOMIC_RELEASE);
    return r;
}

static void mf_unmap(mf_shm *r)
{
    for (int i = 0; i < MF_SHM_MAX; i++)
        if (mf_regions[i] == r)
            __atomic_store_n(&mf_regions[i], NULL, __ATOMIC_RELEASE);
    munmap(r->base, r->cap);
    mf__free(r);
}

void mf__shm_retire(mf_shm *r)
{
    if (!r)
        return;
    r->retired = 1;
    if (__atomic_load_n(&r->held, __ATOMIC_ACQUIRE) == 0)
        mf_unmap(r);
}

/* The region holding [p, p+len), or NULL. */
static mf_shm *mf_find(const void *p, size_t len)
{
    const unsigned char *c = p;
    for (int i = 0; i < MF_SHM_MAX; i++) {
        mf_shm *r = __atomic_load_n(&mf_regions[i], __ATOMIC_ACQUIRE);
        if (r && c >= r->base + sizeof(mf_blk) && c <= r->base + r->cap &&
            len <= (size_t)(r->base + r->cap - c))
            return r;
    }
    return NULL;
}

static mf_blk *mf_hdr(const void *p)
{
    return (mf_blk *)((unsigned char *)(uintptr_t)p - sizeof(mf_blk));
}

/* Take back the oldest blocks that were released. */
static void mf_reclaim(mf_shm *r)
{
    while (r->used > 0) {
        mf_blk *b = (mf_blk *)(r->base + r->tail);
        if (__atomic_load_n(&b->busy, __ATOMIC_ACQUIRE))
            break;
        r->tail += b->size;
        r->used -= b->size;
        if (r->tail == r->cap)
            r->tail = 0;
    }
    if (r->used == 0)
        r->head = r->tail = 0; /* start again at the (warm) beginning */
}

void *mf__shm_alloc(mf_shm *r, size_t len)
{
    size_t need = sizeof(mf_blk) + mf_pad16(len);
    if (!r || len == 0 || need > r->cap)
        return NULL;
    mf_reclaim(r);
    for (int pass = 0; pass < 2; pass++) {
        size_t room = r->used == 0        ? r->cap
                      : r->head > r->tail ? r->cap - r->head
                                          : r->tail - r->head;
        if (need <= room) {
            mf_blk *b = (mf_blk *)(r->base + r->head);
            b->size = need;
            b->holder = -1;
            __atomic_store_n(&b->busy, 1, __ATOMIC_RELAXED);
            r->head += need;
            r->used += need;
            if (r->head == r->cap)
                r->head = 0;
            __atomic_add_fetch(&r->held, 1, __ATOMIC_RELAXED);
            return b + 1;
        }
        /* Only the end of the region is free and the block fits before
         * the tail: fill the end with a released block and wrap. */
        if (pass == 0 && r->used > 0 && r->head > r->tail &&
            need <= r->tail) {
            mf_blk *pad = (mf_blk *)(r->base + r->head);
            pad->size = r->cap - r->head;
            pad->holder = -1;
            __atomic_store_n(&pad->busy, 0, __ATOMIC_RELEASE);
            r->used += r->cap - r->head;
            r->head = 0;
            continue;
        }
        break;
    }
    return NULL;
}

void mf__shm_release(void *p)
{
    if (!p)
        return;
    mf_shm *r = mf_find(p, 0);
    if (!r)
        return; /* (no region of this process: nothing to write to) */
    __atomic_store_n(&mf_hdr(p)->busy, 0, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&r->held, 1, __ATOMIC_ACQ_REL) == 0 && r->retired)
        mf_unmap(r);
}

int mf__shm_is_block(const void *p, size_t len)
{
    mf_shm *r = mf_find(p, len);
    if (!r || ((uintptr_t)p & 15) != 0)
        return 0;
    const mf_blk *b = mf_hdr(p);
    return __atomic_load_n(&b->busy, __ATOMIC_ACQUIRE) == 1 &&
           b->size >= sizeof *b + len &&
           b->size <= (size_t)(r->base + r->cap - (const unsigned char *)b);
}

void mf__shm_set_holder(void *p, int holder)
{
    mf_shm *r = mf_find(p, 0);
    if (!r)
        return;
    mf_hdr(p)->holder = holder;
    __atomic_sub_fetch(&r->held, 1, __ATOMIC_ACQ_REL);
}

void mf__shm_hold(void *p)
{
    mf_shm *r = mf_find(p, 0);
    if (r)
        __atomic_add_fetch(&r->held, 1, __ATOMIC_ACQ_REL);
}

size_t mf__shm_in_use(mf_shm *r)
{
    if (!r)
        return 0;
    mf_reclaim(r);
    return r->used;
}

void mf__shm_release_held_by(mf_shm *r, int holder)
{
    if (!r || r->used == 0)
        return;
    size_t off = r->tail, left = r->used;
    while (left > 0) {
        mf_blk *b = (mf_blk *)(r->base + off);
        if (b->size == 0 || b->size > left)
            break; /* (cannot be: a damaged header ends the walk) */
        if (b->holder == holder)
            __atomic_store_n(&b->busy, 0, __ATOMIC_RELEASE);
        left -= b->size;
        off += b->size;
        if (off == r->cap)
            off = 0;
    }
}
