/*
 * fact_farm — a hand-written MPI master/worker farm for the workload, the
 * "hand-written C" baseline of scripts/bench-factorial.
 *
 *   mpirun -n 3 fact_farm [WINDOW]
 *
 * Rank 0 keeps WINDOW (default 2) integers in flight per worker, refills
 * whichever worker answers, and waits with MPI_Test plus a short sleep
 * (at most 100 us) so it does not steal a core from the workers; a worker
 * computes n!, its exact digit count and n! mod 2^61-1, and sends back
 * these 3 words.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "fact_common.h"

enum { TAG_WORK = 1, TAG_STOP = 2, TAG_RESULT = 3 };

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int window = argc > 1 ? atoi(argv[1]) : 2;
    if (window < 1)
        window = 1;
    if (size < 2) {
        fprintf(stderr, "fact_farm: needs at least 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (rank != 0) {
        mpz_t z;
        mpz_init(z);
        for (;;) {
            unsigned long n;
            MPI_Status st;
            MPI_Recv(&n, 1, MPI_UNSIGNED_LONG, 0, MPI_ANY_TAG, MPI_COMM_WORLD,
                     &st);
            if (st.MPI_TAG == TAG_STOP)
                break;
            mpz_fac_ui(z, n);
            unsigned long r[3] = {n, fc_digits(z), mpz_fdiv_ui(z, FC_M61)};
            MPI_Send(r, 3, MPI_UNSIGNED_LONG, 0, TAG_RESULT, MPI_COMM_WORLD);
        }
        mpz_clear(z);
        MPI_Finalize();
        return 0;
    }
    size_t count;
    unsigned long *v = fc_workload(&count);
    int nw = size - 1;
    size_t next = 0, done = 0;
    unsigned long long digits = 0, sum = 0;
    unsigned long(*res)[3] = malloc(sizeof *res * (size_t)nw * window);
    MPI_Request *req = malloc(sizeof *req * (size_t)nw * window);
    int *slot_worker = malloc(sizeof *slot_worker * (size_t)nw * window);
    double t0 = fc_now();
    /* One posted receive per in-flight task slot. */
    int nslots = nw * window;
    for (int s = 0; s < nslots; s++) {
        int w = 1 + s % nw;
        slot_worker[s] = w;
        req[s] = MPI_REQUEST_NULL;
        if (next < count) {
            MPI_Send(&v[next++], 1, MPI_UNSIGNED_LONG, w, TAG_WORK,
                     MPI_COMM_WORLD);
            MPI_Irecv(res[s], 3, MPI_UNSIGNED_LONG, w, TAG_RESULT,
                      MPI_COMM_WORLD, &req[s]);
        }
    }
    long backoff = 0;
    while (done < count) {
        int idx, flag;
        MPI_Testany(nslots, req, &idx, &flag, MPI_STATUS_IGNORE);
        if (!flag || idx == MPI_UNDEFINED) {
            if (backoff < 100)
                backoff = backoff ? backoff * 2 : 1;
            if (backoff > 100)
                backoff = 100;
            sleep_us(backoff);
            continue;
        }
        backoff = 0;
        done++;
        digits += res[idx][1];
        sum = (sum + res[idx][2]) % FC_M61;
        if (next < count) {
            int w = slot_worker[idx];
            MPI_Send(&v[next++], 1, MPI_UNSIGNED_LONG, w, TAG_WORK,
                     MPI_COMM_WORLD);
            MPI_Irecv(res[idx], 3, MPI_UNSIGNED_LONG, w, TAG_RESULT,
                      MPI_COMM_WORLD, &req[idx]);
        }
    }
    double secs = fc_now() - t0;
    for (int w = 1; w < size; w++)
        MPI_Send(&next, 0, MPI_UNSIGNED_LONG, w, TAG_STOP, MPI_COMM_WORLD);
    printf("summary: count=%zu digits=%llu checksum=%llu seconds=%.3f\n",
           count, digits, sum, secs);
    free(v);
    free(res);
    free(req);
    free(slot_worker);
    MPI_Finalize();
    return 0;
}
