/*
 * link.h — how the executor talks to its workers: the backend seam.
 *
 * The executor's core (queue, futures, wait, map, journal, observation)
 * and the worker's serve loop never call a transport directly: they build
 * messages with wire.h and move them through an mf_link, a small table of
 * operations on the peers of one executor (rank 0..size-1, one of them
 * the root):
 *
 *   post      start sending a finished message (and its out-of-line
 *             parts) to a peer; the message's buffers stay valid until
 *             test/wait says it was sent
 *   test      1 when every part of a posted message is sent, else 0
 *   wait      block until it is
 *   poll      the next whole message from a peer (or from any), if one is
 *             there: a new receive buffer and who sent it; never blocks
 *             when nothing has arrived
 *   recv_ool  the out-of-line payload announced by the message just
 *             polled from that peer (it follows it)
 *   lost      a peer that is gone (a process pool's dead worker), once;
 *             -1 when none (MPI ends the job instead)
 *   nap       (a worker's side; may be NULL) sleep up to `us` unless or
 *             until a message arrives: an idle worker then wakes at
 *             once for its next task instead of at its next blind sleep's
 *             end, so it can sleep long and cost no CPU; 0 if it napped,
 *             -1 if this side cannot (the caller sleeps blind)
 *   free      the link itself, at close
 *
 * Implementations: link_mpi.c (MPI ranks on a communicator),
 * link_local.c (a local pool of processes, one socket each) and
 * link_thread.c (a local pool of threads, shared inboxes); local.c starts
 * the pools' workers. Called with the library lock held on the root, and
 * by the serving thread on a worker.
 */
#ifndef MF_LINK_H
#define MF_LINK_H

#include "rbuf.h"
#include "wire.h"

#include <stddef.h>

#define MF_ANY_PEER (-1)

typedef struct mf_link mf_link;

typedef struct mf_link_ops {
    int (*post)(mf_link *l, mf_send *s, int dest);
    int (*test)(mf_link *l, mf_send *s);
    int (*wait)(mf_link *l, mf_send *s);
    int (*poll)(mf_link *l, int src, int *from, mf_rbuf **rb);
    int (*recv_ool)(mf_link *l, int src, size_t len, mf_rbuf **out);
    int (*lost)(mf_link *l);
    void (*free)(mf_link *l);
    int (*nap)(mf_link *l, unsigned us);
} mf_link_ops;

struct mf_link {
    const mf_link_ops *ops;
};

/* A link over the ranks of `comm` (not freed with the link). */
mf_link *mf__link_mpi(MPI_Comm comm);

/* A link over Unix stream sockets (a local process pool): npeers peers,
 * none attached yet; root_side: the root's end (nonblocking writes). */
mf_link *mf__link_local(int npeers, int root_side);
/* Peer `peer` is reached through the socket fd (owned by the link from
 * now on; a new worker in the place of a dead one too). */
void mf__link_local_attach(mf_link *l, int peer, int fd);
/* The shared region (shm.h) this side copies large payloads into before
 * sending them as references; NULL: through the socket. */
struct mf_shm;
void mf__link_local_set_tx(mf_link *l, struct mf_shm *tx);

/* A link of a local thread pool: peer `self` of `npeers`; the root's
 * (pool NULL) makes the shared inboxes and frees them with its link. */
struct mf_tpool;
mf_link *mf__link_thread(struct mf_tpool *pool, int self, int npeers);
struct mf_tpool *mf__link_thread_pool(mf_link *l);

/* The link's nap as a backoff hook (ctx: the link); -1 if it has none. */
int mf__link_nap(void *ctx, unsigned us);

/* Post a header-only SHUTDOWN message to `dest` and wait until sent. */
int mf__link_shutdown(mf_link *l, int dest);

#endif
