/*
 * test_traffic.c — isolation from user traffic (user_traffic): messages
 * with tags 0..32767 pending on the executor's own communicator during its
 * whole life, in both directions, plus messages that tasks send on it,
 * all arrive intact afterwards and nothing else is left.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <string.h>

/* =================================================================== */
/* Scenario: user_traffic                                               */
/* =================================================================== */

static const int g_tags[] = {0,  1,  2,  3,  4,   5,    7,    8,
                             15, 16, 31, 42, 100, 1000, 32767};
#define NTAGS ((int)(sizeof g_tags / sizeof g_tags[0]))
static int g_out[MAXW * NTAGS][2];
static MPI_Request g_out_req[MAXW * NTAGS];
static int g_nout;
static int g_task_msgs[MAXW + 1]; /* per source rank, root only */

void pre_traffic(void)
{
    int r, t;
    g_nout = 0;
    memset(g_task_msgs, 0, sizeof g_task_msgs);
    for (r = 0; r < mft_size; r++) {
        if (r == mft_rank)
            continue;
        if (mft_rank != mft_root && r != mft_root)
            continue;
        for (t = 0; t < NTAGS; t++) {
            g_out[g_nout][0] = mft_rank;
            g_out[g_nout][1] = g_tags[t] + 500;
            MPI_Isend(g_out[g_nout], 2, MPI_INT, r, g_tags[t], mft_comm,
                      &g_out_req[g_nout]);
            g_nout++;
        }
    }
}

/* Wait for requests with a bound; cancel what did not complete. */
static int wait_bounded(MPI_Request *req, int n)
{
    /* a real status array: gcc 12 warns about MPI_STATUSES_IGNORE with
     * MPICH's access attributes (-Wstringop-overflow) */
    static MPI_Status st[(MAXW + 1) * (NTAGS + 256)];
    double dl = mft_now() + T;
    int flag = 0, i;
    while (!flag && mft_now() < dl)
        MPI_Testall(n, req, &flag, st);
    if (!flag) {
        for (i = 0; i < n; i++)
            if (req[i] != MPI_REQUEST_NULL) {
                MPI_Cancel(&req[i]);
                MPI_Request_free(&req[i]);
            }
    }
    return flag;
}

void post_traffic(void)
{
    static int in[(MAXW + 1) * (NTAGS + 256)][2];
    static MPI_Request req[(MAXW + 1) * (NTAGS + 256)];
    int n = 0, r, t, k, ok;
    for (r = 0; r < mft_size; r++) {
        if (r == mft_rank)
            continue;
        if (mft_rank != mft_root && r != mft_root)
            continue;
        for (t = 0; t < NTAGS; t++) {
            MPI_Irecv(in[n], 2, MPI_INT, r, g_tags[t], mft_comm, &req[n]);
            n++;
        }
        if (mft_rank == mft_root)
            for (k = 0; k < g_task_msgs[r] && k < 256; k++) {
                in[n][0] = in[n][1] = -1;
                MPI_Irecv(in[n], 2, MPI_INT, r, MFT_TAG_USERSEND, mft_comm,
                          &req[n]);
                n++;
            }
    }
    ok = wait_bounded(req, n);
    MFT_CHECK(ok);
    if (ok) {
        n = 0;
        for (r = 0; r < mft_size; r++) {
            if (r == mft_rank)
                continue;
            if (mft_rank != mft_root && r != mft_root)
                continue;
            for (t = 0; t < NTAGS; t++, n++) {
                MFT_CHECK_EQ(in[n][0], r);
                MFT_CHECK_EQ(in[n][1], g_tags[t] + 500);
            }
            if (mft_rank == mft_root)
                for (k = 0; k < g_task_msgs[r] && k < 256; k++, n++) {
                    MFT_CHECK_EQ(in[n][0], r);
                    MFT_CHECK(in[n][1] >= 1000);
                }
        }
    }
    MFT_CHECK(wait_bounded(g_out_req, g_nout));
    /* nothing else is left over on the user communicator */
    {
        int flag = 1;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, mft_comm, &flag, &st);
        MFT_CHECK(!flag);
    }
}

static void t_traffic_tasks(void)
{
    enum { N = 24 };
    mf_future f[N];
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = submit_ok(ID_USERSEND, &i, sizeof i);
    for (i = 0; i < N; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (ASSERT_RC(mf_future_result(f[i], T, &d, &l), MF_OK) && l == 4 &&
            d) {
            int32_t r;
            memcpy(&r, d, 4);
            if (r >= 0 && r < mft_size && r <= MAXW)
                g_task_msgs[r]++;
        }
        mf_future_release(f[i]);
    }
    /* and a map, for good measure */
    map_check(1, 2, ID_ECHO, -1);
}

const mft_test tests_traffic[] = {
    {"tasks_send_on_user_comm_during_executor_life", t_traffic_tasks},
    {NULL, NULL}};
