/* link_mpi.c — the MPI link: the executor's peers are the ranks of its
 * private duplicate of the user's communicator.
 *
 * Messages are MPI point-to-point messages with tag MF_WIRE_TAG, their
 * out-of-line payloads follow with MF_WIRE_TAG_DATA (wire.c posts and
 * receives them). Polling probes before it allocates, so out of memory
 * leaves the message queued in MPI and nothing is lost; only this library
 * receives on its private communicator, under the library lock on the
 * root and in the one serving thread on a worker, so the message probed
 * is the one received.
 */
#include "link.h"

#include "alloc.h"
#include "errors.h"

typedef struct mf_link_mpi {
    mf_link base;
    MPI_Comm comm;
} mf_link_mpi;

static MPI_Comm mf_comm(mf_link *l)
{
    return ((mf_link_mpi *)l)->comm;
}

static int mf_mpi_post(mf_link *l, mf_send *s, int dest)
{
    return mf__wire_isend(s, dest, mf_comm(l));
}

static int mf_mpi_test(mf_link *l, mf_send *s)
{
    (void)l;
    return mf__wire_test(s);
}

static int mf_mpi_wait(mf_link *l, mf_send *s)
{
    (void)l;
    return mf__wire_wait(s);
}

static int mf_mpi_poll(mf_link *l, int src, int *from, mf_rbuf **out)
{
    int flag = 0, count = 0;
    MPI_Status st;
    *out = NULL;
    if (MPI_Iprobe(src == MF_ANY_PEER ? MPI_ANY_SOURCE : src, MF_WIRE_TAG,
                   mf_comm(l), &flag, &st) != MPI_SUCCESS)
        return mf__fail(MF_EMPI, "MPI_Iprobe failed");
    if (!flag)
        return MF_OK;
    MPI_Get_count(&st, MPI_BYTE, &count);
    mf_rbuf *rb = mf__rbuf_new(count > 0 ? (size_t)count : 0);
    if (!rb) /* (the message stays queued in MPI: nothing is lost) */
        return mf__fail(MF_ENOMEM,
                        "out of memory receiving %d bytes (they stay queued)",
                        count);
    int peer = st.MPI_SOURCE;
    if (MPI_Recv(rb->data, count, MPI_BYTE, peer, MF_WIRE_TAG, mf_comm(l),
                 &st) != MPI_SUCCESS) {
        mf__rbuf_unref(rb);
        return mf__fail(MF_EMPI, "MPI_Recv failed");
    }
    *from = peer;
    *out = rb;
    return MF_OK;
}

static int mf_mpi_recv_ool(mf_link *l, int src, size_t len, mf_rbuf **out)
{
    return mf__wire_recv_ool(mf_comm(l), src, len, out);
}

static int mf_mpi_lost(mf_link *l)
{
    (void)l;
    return -1; /* a lost rank ends the MPI job */
}

static void mf_mpi_free(mf_link *l)
{
    mf__free(l);
}

static const mf_link_ops mf_mpi_ops = {
    mf_mpi_post,     mf_mpi_test, mf_mpi_wait, mf_mpi_poll,
    mf_mpi_recv_ool, mf_mpi_lost, mf_mpi_free, NULL,
};

mf_link *mf__link_mpi(MPI_Comm comm)
{
    mf_link_mpi *l = mf__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->base.ops = &mf_mpi_ops;
    l->comm = comm;
    return &l->base;
}

int mf__link_nap(void *ctx, unsigned us)
{
    mf_link *l = ctx;
    return l->ops->nap ? l->ops->nap(l, us) : -1;
}

int mf__link_shutdown(mf_link *l, int dest)
{
    mf_send s;
    int rc = mf__wire_begin(&s, MF_MSG_SHUTDOWN);
    if (rc == MF_OK)
        rc = mf__wire_finish(&s);
    if (rc == MF_OK)
        rc = l->ops->post(l, &s, dest);
    if (rc == MF_OK)
        rc = l->ops->wait(l, &s);
    mf__wire_free(&s);
    return rc;
}
