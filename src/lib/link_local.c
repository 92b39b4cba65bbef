/* link_local.c — the link of a local process pool: one Unix stream socket
 * between the root and each worker process.
 *
 * Every part of a message (the message itself, then each out-of-line
 * payload, in order) travels as a frame: its length (u64), then its
 * bytes. The root never blocks on a write: posted messages queue per
 * worker and move whenever the root tests, waits or polls, so a worker
 * that is busy writing its results can never wedge a root writing tasks.
 * A worker writes with plain blocking writes (it has nothing else to do
 * meanwhile) and reads the root's frames as they come. Writes gather
 * several frames into one sendmsg; reads go through a per-peer read-ahead
 * buffer, so a small frame costs one recv. Bodies are read in full once
 * their length has arrived: the peer is in the middle of writing that
 * very frame. A worker process that dies shows as the end of
 * its socket: the root reports it once (lost) and forgets its queue.
 *
 * Out-of-line payloads (MF_WIRE_OOL_MIN and up) do not go through the
 * socket when the pool has shared regions (shm.h): a payload that lies in a
 * shared block the message owns (an argument the root allocated there, a
 * task's argument handed back) is sent as a reference, other bytes are
 * copied into a block of this side's region once and referenced. A
 * reference is a frame whose length word has its top bit set and whose
 * body is {address, length}; the receiver checks it names a busy block of
 * a region it knows, reads the payload in place and releases the block
 * when done with it. With no room in the region, bytes go by the socket.
 */
#include "link.h"

#include "alloc.h"
#include "errors.h"
#include "shm.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef struct mf_peer {
    int fd;      /* -1: none (the root's own slot, or a dead worker) */
    int dead;    /* its socket ended; reported by lost() when 2 */
    mf_send **q; /* posted, not yet fully written (root) */
    size_t qn, qcap;
    size_t part; /* head of q: 0 the message, 1.. its out-of-line parts */
    size_t off;  /* bytes of the current frame written (8-byte length
                    first, then the body) */
    /* Input read ahead: small frames (and the start of large ones) come
     * in one recv, several at a time; a large body's rest is read
     * straight into its buffer. */
    unsigned char *ib;
    size_t ib_off, ib_len; /* valid bytes: ib[ib_off .. ib_off+ib_len) */
} mf_peer;

/* Read-ahead per peer; frames up to about this size cost one recv. */
#define MF_IBUF ((size_t)64 << 10)
/* Frames gathered into one sendmsg (two pieces each: length, body). */
#define MF_IOV_FRAMES 8

/* The length word of a reference frame (its body: address, length). */
#define MF_REF_BIT ((uint64_t)1 << 63)

typedef struct mf_link_local {
    mf_link base;
    int npeers;
    int root_side; /* 1: nonblocking writes through queues */
    mf_shm *tx;    /* this side's region for large payloads, or NULL */
    mf_peer *p;
    int rr; /* next peer polled first */
} mf_link_local;

static mf_link_local *mf_ll(mf_link *l)
{
    return (mf_link_local *)l;
}

/* ---- writing ------------------------------------------------------- */

/* The body of frame `part` of s and its length word. */
static void mf_part(const mf_send *s, size_t part, const void **p, size_t *n,
                    uint64_t *word)
{
    if (part == 0) {
        *p = s->buf;
        *n = s->len;
        *word = *n;
    } else if (s->ool[part - 1].isref) {
        *p = s->ool[part - 1].ref;
        *n = sizeof s->ool[part - 1].ref;
        *word = *n | MF_REF_BIT;
    } else {
        *p = s->ool[part - 1].p;
        *n = s->ool[part - 1].len;
        *word = *n;
    }
}

/* Send a large part by reference when it can (see the top of the file):
 * the block goes to `dest`, who releases it. */
static void mf_by_ref(mf_link_local *l, mf_wire_ool *o, int dest)
{
    void *blk = NULL;
    if (o->release == mf__shm_release && mf__shm_is_block(o->p, o->len)) {
        blk = (void *)(uintptr_t)o->p;
    } else if (l->tx && (blk = mf__shm_alloc(l->tx, o->len)) != NULL) {
        memcpy(blk, o->p, o->len);
        if (o->release)
            o->release((void *)(uintptr_t)o->p);
    } else {
        return;
    }
    mf__shm_set_holder(blk, dest);
    o->p = blk;
    o->release = NULL; /* the receiver's now */
    o->ref[0] = (uint64_t)(uintptr_t)blk;
    o->ref[1] = o->len;
    o->isref = 1;
}

static void mf_peer_died(mf_peer *pe)
{
    if (pe->fd >= 0)
        close(pe->fd);
    pe->fd = -1;
    if (!pe->dead)
        pe->dead = 1;
    /* What was queued for it is dropped: the root fails its futures. */
    for (size_t i = 0; i < pe->qn; i++)
        pe->q[i]->sent = 1;
    pe->qn = 0;
    pe->part = pe->off = 0;
    pe->ib_off = pe->ib_len = 0;
}

/* Advance the peer's write position by k bytes, finishing frames and
 * messages on the way. */
static void mf_advance(mf_peer *pe, size_t k)
{
    while (pe->qn > 0) {
        mf_send *s = pe->q[0];
        const void *body;
        size_t n;
        uint64_t word;
        mf_part(s, pe->part, &body, &n, &word);
        size_t rest = 8 + n - pe->off;
        if (k < rest) {
            pe->off += k;
            return;
        }
        k -= rest;
        pe->off = 0;
        if (++pe->part <= s->nool)
            continue;
        pe->part = 0;
        s->sent = 1;
        memmove(pe->q, pe->q + 1, (pe->qn - 1) * sizeof *pe->q);
        pe->qn--;
    }
}

/* Write what can be written of the peer's queue, several frames per
 * sendmsg; `block` waits for room. MF_OK (also when the peer died:
 * lost() tells), MF_EMPI otherwise. */
static int mf_flush(mf_peer *pe, int block)
{
    while (pe->qn > 0 && pe->fd >= 0) {
        struct iovec iov[2 * MF_IOV_FRAMES];
        uint64_t hdr[MF_IOV_FRAMES];
        int niov = 0, nh = 0;
        size_t qi = 0, part = pe->part, off = pe->off;
        while (qi < pe->qn && nh < MF_IOV_FRAMES) {
            const mf_send *s = pe->q[qi];
            const void *body;
            size_t n;
            mf_part(s, part, &body, &n, &hdr[nh]);
            if (off < 8)
                iov[niov++] =
                    (struct iovec){(unsigned char *)&hdr[nh] + off, 8 - off};
            size_t boff = off < 8 ? 0 : off - 8;
            if (n > boff)
                iov[niov++] =
                    (struct iovec){(unsigned char *)body + boff, n - boff};
            nh++;
            off = 0;
            if (++part > s->nool) {
                part = 0;
                qi++;
            }
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)niov;
        ssize_t k = sendmsg(pe->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!block)
                    return MF_OK;
                struct pollfd pf = {pe->fd, POLLOUT, 0};
                (void)poll(&pf, 1, 100);
                continue;
            }
            mf_peer_died(pe); /* EPIPE, ECONNRESET: the worker is gone */
            return MF_OK;
        }
        mf_advance(pe, (size_t)k);
    }
    return MF_OK;
}

static void mf_flush_all(mf_link_local *l)
{
    for (int i = 0; i < l->npeers; i++)
        if (l->p[i].qn)
            (void)mf_flush(&l->p[i], 0);
}

static int mf_ll_post(mf_link *lk, mf_send *s, int dest)
{
    mf_link_local *l = mf_ll(lk);
    if (dest < 0 || dest >= l->npeers)
        return mf__fail(MF_EINVAL, "no peer %d", dest);
    mf_peer *pe = &l->p[dest];
    s->sent = 0;
    if (pe->fd < 0 && pe->dead == 2) /* lost, and no worker in its place */
        return mf__fail(MF_EBROKEN, "worker %d is gone", dest);
    if (pe->fd < 0) { /* dead, not yet reported: its futures fail then */
        s->sent = 1;
        return MF_OK;
    }
    for (size_t i = 0; i < s->nool; i++)
        mf_by_ref(l, &s->ool[i], dest);
    if (pe->qn == pe->qcap) {
        size_t cap = pe->qcap ? 2 * pe->qcap : 8;
        mf_send **q = mf__realloc(pe->q, cap * sizeof *q);
        if (!q)
            return mf__fail(MF_ENOMEM, "out of memory sending");
        pe->q = q;
        pe->qcap = cap;
    }
    pe->q[pe->qn++] = s;
    return mf_flush(pe, !l->root_side);
}

static int mf_ll_test(mf_link *lk, mf_send *s)
{
    if (!s->sent)
        mf_flush_all(mf_ll(lk));
    return s->sent;
}

static int mf_ll_wait(mf_link *lk, mf_send *s)
{
    mf_link_local *l = mf_ll(lk);
    while (!s->sent) {
        for (int i = 0; i < l->npeers; i++)
            if (l->p[i].qn && l->p[i].q[0] == s)
                (void)mf_flush(&l->p[i], 1);
        mf_flush_all(l);
    }
    return MF_OK;
}

/* ---- reading ------------------------------------------------------- */

/* Read exactly n bytes (blocking on a nonblocking socket too). 0, or -1
 * if the socket ended or failed. */
static int mf_read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = recv(fd, (char *)buf + got, n - got, 0);
        if (k > 0) {
            got += (size_t)k;
        } else if (k < 0 && errno == EINTR) {
            continue;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {fd, POLLIN, 0};
            (void)poll(&pf, 1, 1000);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Read what the socket has into the peer's read-ahead (waiting for some
 * if `wait`). 1 if bytes came, 0 if none, -1 if the socket ended or
 * failed, -2 out of memory. */
static int mf_fill(mf_peer *pe, int wait)
{
    if (!pe->ib && !(pe->ib = mf__malloc(MF_IBUF)))
        return -2;
    if (pe->ib_off > 0 && (pe->ib_len == 0 || pe->ib_off > MF_IBUF / 2)) {
        memmove(pe->ib, pe->ib + pe->ib_off, pe->ib_len);
        pe->ib_off = 0;
    }
    for (;;) {
        ssize_t k =
            recv(pe->fd, pe->ib + pe->ib_off + pe->ib_len,
                 MF_IBUF - pe->ib_off - pe->ib_len, wait ? 0 : MSG_DONTWAIT);
        if (k > 0) {
            pe->ib_len += (size_t)k;
            return 1;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait)
                return 0;
            struct pollfd pf = {pe->fd, POLLIN, 0};
            (void)poll(&pf, 1, 1000);
            continue;
        }
        return -1;
    }
}

/* A reference frame whose length word `word` has arrived: the payload,
 * in place. */
static int mf_read_ref(mf_peer *pe, int i, uint64_t word, mf_rbuf **rb)
{
    uint64_t ref[2];
    if ((word & ~MF_REF_BIT) != sizeof ref) {
        mf_peer_died(pe);
        return mf__fail(MF_EPROTO, "a malformed reference from peer %d", i);
    }
    while (pe->ib_len < 8 + sizeof ref) { /* (the peer writes it now) */
        int r = mf_fill(pe, 1);
        if (r == -2)
            return mf__fail(MF_ENOMEM, "out of memory receiving");
        if (r < 0) {
            mf_peer_died(pe);
            return MF_OK;
        }
    }
    memcpy(ref, pe->ib + pe->ib_off + 8, sizeof ref);
    pe->ib_off += 8 + sizeof ref;
    pe->ib_len -= 8 + sizeof ref;
    if (pe->ib_len == 0)
        pe->ib_off = 0;
    void *p = (void *)(uintptr_t)ref[0];
    if (ref[1] > MF_WIRE_MAX || !mf__shm_is_block(p, (size_t)ref[1])) {
        mf_peer_died(pe);
        return mf__fail(MF_EPROTO,
                        "peer %d referenced bytes that are not a shared "
                        "block",
                        i);
    }
    mf__shm_hold(p);
    if (!(*rb = mf__rbuf_wrap(p, (size_t)ref[1], mf__shm_release))) {
        mf__shm_release(p);
        mf_peer_died(pe); /* (the stream cannot be kept in step) */
        return mf__fail(MF_ENOMEM, "out of memory receiving");
    }
    return MF_OK;
}

/* A frame from peer i, if its length has arrived (MF_OK with *rb NULL if
 * nothing came). */
static int mf_read_frame(mf_link_local *l, int i, int wait, mf_rbuf **rb)
{
    mf_peer *pe = &l->p[i];
    uint64_t len;
    *rb = NULL;
    if (pe->fd < 0)
        return MF_OK;
    while (pe->ib_len < sizeof len) {
        int r = mf_fill(pe, wait);
        if (r == -2)
            return mf__fail(MF_ENOMEM, "out of memory receiving");
        if (r < 0) {
            mf_peer_died(pe);
            return MF_OK;
        }
        if (r == 0)
            return MF_OK; /* nothing yet (a length may be half here) */
    }
    memcpy(&len, pe->ib + pe->ib_off, sizeof len);
    if (len & MF_REF_BIT)
        return mf_read_ref(pe, i, len, rb);
    if (len > MF_WIRE_MAX) {
        mf_peer_died(pe);
        return mf__fail(MF_EPROTO, "a %llu-byte frame from peer %d",
                        (unsigned long long)len, i);
    }
    mf_rbuf *r = mf__rbuf_new((size_t)len);
    if (!r) {
        mf_peer_died(pe); /* (the stream cannot be kept in step) */
        return mf__fail(MF_ENOMEM, "out of memory receiving %llu bytes",
                        (unsigned long long)len);
    }
    /* The body: what was read ahead, then the rest straight from the
     * socket (the peer is writing this very frame). */
    size_t have = pe->ib_len - sizeof len;
    if (have > len)
        have = (size_t)len;
    memcpy(r->data, pe->ib + pe->ib_off + sizeof len, have);
    pe->ib_off += sizeof len + have;
    pe->ib_len -= sizeof len + have;
    if (pe->ib_len == 0)
        pe->ib_off = 0;
    if (have < len && mf_read_full(pe->fd, (char *)r->data + have,
                                   (size_t)len - have) != 0) {
        mf__rbuf_unref(r);
        mf_peer_died(pe);
        return MF_OK;
    }
    *rb = r;
    return MF_OK;
}

static int mf_ll_poll(mf_link *lk, int src, int *from, mf_rbuf **rb)
{
    mf_link_local *l = mf_ll(lk);
    *rb = NULL;
    mf_flush_all(l); /* (writes move while the root polls) */
    for (int k = 0; k < l->npeers; k++) {
        int i = src == MF_ANY_PEER ? (l->rr + k) % l->npeers : src;
        int rc = mf_read_frame(l, i, 0, rb);
        if (rc != MF_OK || *rb) {
            *from = i;
            l->rr = (i + 1) % l->npeers;
            return rc;
        }
        if (src != MF_ANY_PEER)
            break;
    }
    return MF_OK;
}

static int mf_ll_recv_ool(mf_link *lk, int src, size_t len, mf_rbuf **out)
{
    mf_link_local *l = mf_ll(lk);
    *out = NULL;
    int rc = mf_read_frame(l, src, 1, out);
    if (rc != MF_OK)
        return rc;
    if (!*out)
        return mf__fail(MF_EPROTO, "peer %d ended before its payload", src);
    if ((*out)->len != len) {
        size_t got = (*out)->len;
        mf__rbuf_unref(*out);
        *out = NULL;
        return mf__fail(MF_EPROTO, "a %zu-byte payload where %zu were due",
                        got, len);
    }
    return MF_OK;
}

static int mf_ll_lost(mf_link *lk)
{
    mf_link_local *l = mf_ll(lk);
    for (int i = 0; i < l->npeers; i++) {
        if (l->p[i].dead == 1) {
            l->p[i].dead = 2; /* reported */
            return i;
        }
    }
    return -1;
}

static void mf_ll_free(mf_link *lk)
{
    mf_link_local *l = mf_ll(lk);
    for (int i = 0; i < l->npeers; i++) {
        if (l->p[i].fd >= 0)
            close(l->p[i].fd);
        mf__free(l->p[i].q);
        mf__free(l->p[i].ib);
    }
    mf__free(l->p);
    mf__free(l);
}

/* A worker's nap: wait for the root's socket to become readable. (The
 * root's side does not nap: its queues and sockets change under the
 * library lock, which a sleeping root does not hold.) */
static int mf_ll_nap(mf_link *lk, unsigned us)
{
    mf_link_local *l = mf_ll(lk);
    struct pollfd pf[1];
    nfds_t n = 0;
    if (l->root_side)
        return -1;
    for (int i = 0; i < l->npeers && n < 1; i++)
        if (l->p[i].fd >= 0) {
            if (l->p[i].ib_len >= sizeof(uint64_t))
                return 0; /* a frame is already here */
            pf[n++] = (struct pollfd){l->p[i].fd, POLLIN, 0};
        }
    if (n == 0)
        return -1;
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    (void)ppoll(pf, n, &ts, NULL);
    return 0;
}

static const mf_link_ops mf_local_ops = {
    mf_ll_post,     mf_ll_test, mf_ll_wait, mf_ll_poll,
    mf_ll_recv_ool, mf_ll_lost, mf_ll_free, mf_ll_nap,
};

mf_link *mf__link_local(int npeers, int root_side)
{
    mf_link_local *l = mf__calloc(1, sizeof *l);
    if (!l || !(l->p = mf__calloc((size_t)npeers, sizeof *l->p))) {
        mf__free(l);
        return NULL;
    }
    l->base.ops = &mf_local_ops;
    l->npeers = npeers;
    l->root_side = root_side;
    for (int i = 0; i < npeers; i++)
        l->p[i].fd = -1;
    return &l->base;
}

void mf__link_local_set_tx(mf_link *lk, mf_shm *tx)
{
    mf_ll(lk)->tx = tx;
}

void mf__link_local_attach(mf_link *lk, int peer, int fd)
{
    mf_link_local *l = mf_ll(lk);
    mf_peer *pe = &l->p[peer];
    if (pe->fd >= 0)
        close(pe->fd);
    pe->fd = fd;
    pe->dead = 0;
    pe->qn = 0;
    pe->part = pe->off = 0;
    pe->ib_off = pe->ib_len = 0;
}
