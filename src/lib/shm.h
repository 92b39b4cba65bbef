/*
 * shm.h — shared regions of a local process pool: large payloads cross
 * between the root and its worker processes without going through a
 * socket (shm.c).
 *
 * A region is an anonymous shared mapping made by the root before it
 * forks the workers that use it, so it lies at the same address in every
 * one of them and a pointer into it means the same bytes everywhere. One
 * process allocates from a region (the root from the "down" region all
 * its workers read, each worker from its own "up" region); the receiver
 * of a block releases it by clearing its busy word, which the allocating
 * process sees on its next allocation. Allocation is a ring: blocks are
 * taken in order and come back in any order; a block still busy holds up
 * the reuse of those after it, and a full region makes the sender fall
 * back to the socket. Nothing here blocks or locks: the allocator has one
 * user (the root under the library lock, or a worker's serving thread),
 * and releases are single atomic stores.
 */
#ifndef MF_SHM_H
#define MF_SHM_H

#include <stddef.h>

typedef struct mf_shm mf_shm;

/* A new region of `bytes` (a multiple of 4 KiB), registered in this
 * process (and in every process forked after); NULL if it cannot be
 * mapped. Root only. */
mf_shm *mf__shm_new(size_t bytes);
/* The root is done with r: unmapped now if none of its blocks is held in
 * this process, else as soon as the last one is released. */
void mf__shm_retire(mf_shm *r);

/* `len` bytes of r, 16-byte aligned, or NULL if r has no room now. Only
 * r's allocating process. */
void *mf__shm_alloc(mf_shm *r, size_t len);
/* Release the block whose payload starts at p (any process that holds
 * it). Also the rbuf release function of a payload received in place. */
void mf__shm_release(void *p);

/* The payload at p (len bytes) is a busy block of a region this process
 * knows: it may be sent as a reference. */
int mf__shm_is_block(const void *p, size_t len);
/* The block at p is handed to rank `holder` (who will release it). */
void mf__shm_set_holder(void *p, int holder);
/* This process now holds the block at p (received, or allocated for an
 * argument): counted, so that a retired region outlives what is held. */
void mf__shm_hold(void *p);
/* Rank `holder` is gone: release the blocks of r (which this process
 * allocates) handed to it. */
void mf__shm_release_held_by(mf_shm *r, int holder);
/* Bytes of r in use once what was released is taken back (r's
 * allocating process; 0: nothing held anywhere). */
size_t mf__shm_in_use(mf_shm *r);

#endif
