/* Unit tests: message encoding and decoding, including truncated,
 * corrupted and random messages (which must be refused, never crash) and
 * the zero-copy path for large payloads (sent to self through MPI). */
#include "alloc.h"
#include "cu_main.h"
#include "mpifutures.h"
#include "rbuf.h"
#include "wire.h"

#include <mpi.h>
#include <string.h>

/* Build a TASKS message with three small records. */
static mf_send build_tasks(void)
{
    mf_send s;
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_TASKS), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_add_task(&s, 11, 101, "abc", 3, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_add_task(&s, 12, 102, NULL, 0, 0, 0), MF_OK);
    char *owned = mf__strdup("owned-payload");
    CU_ASSERT_EQUAL(mf__wire_add_task(&s, 13, 103, owned, 13, 1, 0), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    return s;
}

static void test_tasks_round_trip(void)
{
    mf_send s = build_tasks();
    mf_wire_reader r;
    mf_wire_rec rec;
    CU_ASSERT_EQUAL(s.nool, 0);
    CU_ASSERT_EQUAL(s.count, 3);
    CU_ASSERT_EQUAL(s.len, s.total);
    CU_ASSERT_EQUAL(s.len % 8, 0);
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, s.buf, s.len), MF_OK);
    CU_ASSERT_EQUAL(r.kind, MF_MSG_TASKS);
    CU_ASSERT_EQUAL(r.count, 3);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 11);
    CU_ASSERT_EQUAL(rec.fn, 101);
    CU_ASSERT_EQUAL(rec.len, 3);
    CU_ASSERT_EQUAL(memcmp(rec.data, "abc", 3), 0);
    CU_ASSERT_EQUAL((uintptr_t)rec.data % 8, 0);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 12);
    CU_ASSERT_EQUAL(rec.len, 0);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 13);
    CU_ASSERT_EQUAL(rec.fn, 103);
    CU_ASSERT_EQUAL(memcmp(rec.data, "owned-payload", 13), 0);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);
    mf__wire_free(&s);
}

static void test_results_round_trip(void)
{
    mf_send s;
    mf_wire_reader r;
    mf_wire_rec rec;
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_RESULTS), MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 7, MF_RS_OK, 99, 1234, "xy", 2, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 8, MF_RS_FAILED, 0, 5, "boom", 4, 0, 0),
        MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, s.buf, s.len), MF_OK);
    CU_ASSERT_EQUAL(r.kind, MF_MSG_RESULTS);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 7);
    CU_ASSERT_EQUAL(rec.status, MF_RS_OK);
    CU_ASSERT_EQUAL(rec.ns, 1234);
    CU_ASSERT_EQUAL(rec.start, 99);
    CU_ASSERT_EQUAL(memcmp(rec.data, "xy", 2), 0);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.status, MF_RS_FAILED);
    CU_ASSERT_EQUAL(memcmp(rec.data, "boom", 4), 0);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);
    mf__wire_free(&s);
}

/* Decode a whole message; returns the first non-OK code. */
static int decode_all(const void *buf, size_t len)
{
    mf_wire_reader r;
    mf_wire_rec rec;
    int rc = mf__wire_open(&r, buf, len);
    if (rc != MF_OK)
        return rc;
    if (r.kind == MF_MSG_SHUTDOWN)
        return MF_OK;
    while ((rc = mf__wire_next(&r, &rec)) == MF_OK) {
        /* Every inline payload handed out lies inside the buffer; an
         * out-of-line one has no bytes here. */
        if (rec.ool) {
            CU_ASSERT_PTR_NULL(rec.data);
            continue;
        }
        CU_ASSERT((const unsigned char *)rec.data >=
                  (const unsigned char *)buf);
        CU_ASSERT((const unsigned char *)rec.data + rec.len <=
                  (const unsigned char *)buf + len);
    }
    return rc == MF_EDONE ? MF_OK : rc;
}

static void test_truncated(void)
{
    mf_send s = build_tasks();
    CU_ASSERT_EQUAL(decode_all(s.buf, s.len), MF_OK);
    for (size_t n = 0; n < s.len; n++) {
        /* A fresh copy of exactly n bytes, so ASan sees any overrun. */
        unsigned char *cut = mf__malloc(n ? n : 1);
        memcpy(cut, s.buf, n);
        CU_ASSERT_EQUAL(decode_all(n ? cut : NULL, n), MF_EPROTO);
        mf__free(cut);
    }
    /* Extra bytes after the last record are an error too. */
    unsigned char *longer = mf__calloc(s.len + 8, 1);
    memcpy(longer, s.buf, s.len);
    CU_ASSERT_EQUAL(decode_all(longer, s.len + 8), MF_EPROTO);
    mf__free(longer);
    mf__wire_free(&s);
}

static void test_corrupted_fields(void)
{
    mf_send s = build_tasks();
    unsigned char *b = mf__malloc(s.len);
    uint64_t huge = UINT64_MAX - 3;
    uint32_t count;

    memcpy(b, s.buf, s.len);
    b[0] ^= 0xff; /* magic */
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    uint32_t swapped = 0x4d465554u; /* magic in the other byte order */
    memcpy(b, &swapped, 4);
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);
    CU_ASSERT(strstr(mf_last_error(), "byte order") != NULL);

    memcpy(b, s.buf, s.len);
    b[4] = 99; /* version */
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    b[5] = 42; /* kind */
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    count = 1000000; /* more records than the bytes hold */
    memcpy(b + 8, &count, 4);
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    count = 1; /* fewer records: stray bytes */
    memcpy(b + 8, &count, 4);
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    memcpy(b + MF_WIRE_HDR + 16, &huge, 8); /* first payload length */
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    memcpy(b, s.buf, s.len);
    b[5] = MF_MSG_SHUTDOWN; /* shutdown with records */
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);

    mf__free(b);
    mf__wire_free(&s);

    /* A result record with an unknown status. */
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_RESULTS), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_add_result(&s, 1, 77, 0, 0, "z", 1, 0, 0),
                    MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL(decode_all(s.buf, s.len), MF_EPROTO);
    mf__wire_free(&s);
}

static void test_random_garbage(void)
{
    /* Random bytes, and valid messages with random bytes flipped: the
     * decoder may accept or refuse, but never reads out of bounds (run
     * under ASan/valgrind to see that). */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    mf_send s = build_tasks();
    for (int iter = 0; iter < 20000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = (size_t)(x % 200);
        unsigned char *b = mf__malloc(n ? n : 1);
        if (iter % 2 == 0) {
            for (size_t i = 0; i < n; i++)
                b[i] = (unsigned char)(x >> (i % 56));
            if (n >= 6) {
                uint32_t magic = MF_WIRE_MAGIC;
                memcpy(b, &magic, 4); /* get past the first check */
                b[4] = MF_WIRE_VERSION;
                b[5] = (unsigned char)(1 + x % 5);
            }
        } else {
            n = s.len;
            mf__free(b);
            b = mf__malloc(n);
            memcpy(b, s.buf, n);
            b[x % n] ^= (unsigned char)(1u << (x % 8));
        }
        int rc = decode_all(b, n);
        CU_ASSERT(rc == MF_OK || rc == MF_EPROTO);
        mf__free(b);
    }
    mf__wire_free(&s);
}

static void test_large_payload_in_place(void)
{
    /* Payloads of MF_WIRE_OOL_MIN bytes and more are not copied: they go
     * out of line as messages of their own. Send to self and decode. */
    enum { BIG = 3 * MF_WIRE_OOL_MIN + 5 };
    unsigned char *big = mf__malloc(BIG);
    unsigned char *big2 = mf__malloc(BIG);
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (unsigned char)(i * 7);
        big2[i] = (unsigned char)(i * 13);
    }
    mf_send s;
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_RESULTS), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_add_result(&s, 1, MF_RS_OK, 0, 0, "hi", 2, 0, 0),
                    MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 2, MF_RS_OK, 0, 0, big, BIG, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 3, MF_RS_OK, 0, 0, big2, BIG, 1, 0),
        MF_OK); /* big2 now owned by s */
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 4, MF_RS_OK, 0, 0, "tail", 4, 0, 0), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL(s.nool, 2);
    /* Only headers and small payloads were copied. */
    CU_ASSERT(s.len < 512);
    CU_ASSERT_EQUAL(s.total, s.len + 2 * (size_t)BIG);

    CU_ASSERT_EQUAL_FATAL(mf__wire_isend(&s, 0, MPI_COMM_SELF), MF_OK);
    MPI_Status st;
    int count;
    MPI_Probe(0, MF_WIRE_TAG, MPI_COMM_SELF, &st);
    MPI_Get_count(&st, MPI_BYTE, &count);
    unsigned char *in = mf__malloc((size_t)count);
    MPI_Recv(in, count, MPI_BYTE, 0, MF_WIRE_TAG, MPI_COMM_SELF,
             MPI_STATUS_IGNORE);

    mf_wire_reader r;
    mf_wire_rec rec;
    mf_rbuf *rb;
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, in, (size_t)count), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_FALSE(rec.ool);
    CU_ASSERT_EQUAL(memcmp(rec.data, "hi", 2), 0);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_TRUE(rec.ool);
    CU_ASSERT_PTR_NULL(rec.data);
    CU_ASSERT_EQUAL_FATAL(rec.len, BIG);
    CU_ASSERT_EQUAL_FATAL(mf__wire_recv_ool(MPI_COMM_SELF, 0, rec.len, &rb),
                          MF_OK);
    CU_ASSERT_EQUAL(memcmp(rb->data, big, BIG), 0);
    mf__rbuf_unref(rb);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 3);
    CU_ASSERT_TRUE(rec.ool);
    CU_ASSERT_EQUAL_FATAL(mf__wire_recv_ool(MPI_COMM_SELF, 0, rec.len, &rb),
                          MF_OK);
    const unsigned char *d = (const unsigned char *)rb->data;
    for (size_t i = 0; i < BIG; i++)
        if (d[i] != (unsigned char)(i * 13)) {
            CU_FAIL("second large payload differs");
            break;
        }
    mf__rbuf_unref(rb);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(memcmp(rec.data, "tail", 4), 0);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);
    CU_ASSERT_EQUAL(mf__wire_wait(&s), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_test(&s), 1);
    mf__wire_free(&s); /* frees big2 */
    mf__free(in);
    mf__free(big);
}

static void test_bad_flags(void)
{
    mf_send s = build_tasks();
    unsigned char *b = mf__malloc(s.len);
    uint32_t flags = 8; /* unknown flag */
    memcpy(b, s.buf, s.len);
    memcpy(b + MF_WIRE_HDR + 24, &flags, 4);
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);
    /* Out of line but absurdly long. */
    uint64_t huge = (uint64_t)1 << 40;
    flags = MF_REC_OOL;
    memcpy(b, s.buf, s.len);
    memcpy(b + MF_WIRE_HDR + 16, &huge, 8);
    memcpy(b + MF_WIRE_HDR + 24, &flags, 4);
    CU_ASSERT_EQUAL(decode_all(b, s.len), MF_EPROTO);
    mf__free(b);
    mf__wire_free(&s);

    /* Task flags and timeouts round-trip; ISOLATE on a result is refused. */
    mf_wire_reader r;
    mf_wire_rec rec;
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_TASKS), MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_task_t(&s, 5, 6, "x", 1, 0, MF_REC_ISOLATE, 2500),
        MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, s.buf, s.len), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_TRUE(rec.isolate);
    CU_ASSERT_EQUAL(rec.timeout_ms, 2500);
    mf__wire_free(&s);
    CU_ASSERT_EQUAL(mf__wire_begin(&s, MF_MSG_RESULTS), MF_OK);
    CU_ASSERT_EQUAL(
        mf__wire_add_result(&s, 5, MF_RS_TIMEOUT, 0, 0, "t", 1, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL(decode_all(s.buf, s.len), MF_OK);
    flags = MF_REC_ISOLATE;
    memcpy(s.buf + MF_WIRE_HDR + 12, &flags, 4);
    CU_ASSERT_EQUAL(decode_all(s.buf, s.len), MF_EPROTO);
    mf__wire_free(&s);
}

/* RECALL is a header only; RETURNED carries task records (the tasks a
 * worker gives back), flags and timeout included. */
static void test_recall_returned(void)
{
    mf_send s;
    mf_wire_reader r;
    mf_wire_rec rec;
    CU_ASSERT_EQUAL_FATAL(mf__wire_begin(&s, MF_MSG_RECALL), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, s.buf, s.len), MF_OK);
    CU_ASSERT_EQUAL(r.kind, MF_MSG_RECALL);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);
    mf__wire_free(&s);

    CU_ASSERT_EQUAL_FATAL(mf__wire_begin(&s, MF_MSG_RETURNED), MF_OK);
    CU_ASSERT_EQUAL(mf__wire_add_task_t(&s, 21, 201, "xyz", 3, NULL,
                                        MF_REC_ISOLATE | MF_REC_CHUNK, 1500),
                    MF_OK);
    CU_ASSERT_EQUAL(mf__wire_finish(&s), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mf__wire_open(&r, s.buf, s.len), MF_OK);
    CU_ASSERT_EQUAL(r.kind, MF_MSG_RETURNED);
    CU_ASSERT_EQUAL_FATAL(mf__wire_next(&r, &rec), MF_OK);
    CU_ASSERT_EQUAL(rec.tag, 21);
    CU_ASSERT_EQUAL(rec.fn, 201);
    CU_ASSERT_EQUAL(rec.isolate, 1);
    CU_ASSERT_EQUAL(rec.chunk, 1);
    CU_ASSERT_EQUAL(rec.timeout_ms, 1500);
    CU_ASSERT_EQUAL(memcmp(rec.data, "xyz", 3), 0);
    CU_ASSERT_EQUAL(mf__wire_next(&r, &rec), MF_EDONE);

    /* A recall with records is refused. */
    unsigned char *b = mf__malloc(s.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    memcpy(b, s.buf, s.len);
    b[5] = MF_MSG_RECALL;
    CU_ASSERT_EQUAL(mf__wire_open(&r, b, s.len), MF_EPROTO);
    b[5] = 6; /* unknown kind */
    CU_ASSERT_EQUAL(mf__wire_open(&r, b, s.len), MF_EPROTO);
    mf__free(b);
    mf__wire_free(&s);
}

static void test_chunks(void)
{
    /* A chunk of arguments: n | lens | padded items. */
    unsigned char buf[8 + 3 * 8 + 8 + 0 + 16];
    uint64_t n = 3, l0 = 5, l1 = 0, l2 = 9;
    memset(buf, 0, sizeof buf);
    memcpy(buf, &n, 8);
    memcpy(buf + 8, &l0, 8);
    memcpy(buf + 16, &l1, 8);
    memcpy(buf + 24, &l2, 8);
    memcpy(buf + 32, "hello", 5);
    memcpy(buf + 40, "123456789", 9);
    mf_chunk_view v;
    CU_ASSERT_EQUAL_FATAL(mf__chunk_parse(buf, sizeof buf, 0, &v), MF_OK);
    CU_ASSERT_EQUAL(v.n, 3);
    CU_ASSERT_EQUAL(v.len[0], 5);
    CU_ASSERT_EQUAL(memcmp(v.ptr[0], "hello", 5), 0);
    CU_ASSERT_EQUAL(v.len[1], 0);
    CU_ASSERT_EQUAL(v.len[2], 9);
    CU_ASSERT_EQUAL(memcmp(v.ptr[2], "123456789", 9), 0);
    CU_ASSERT_PTR_NULL(v.status);
    mf__chunk_view_free(&v);
    /* Every truncation is refused; so are a zero count, a huge count, a
     * huge length, and stray bytes. */
    for (size_t k = 0; k < sizeof buf; k++) {
        unsigned char *cut = mf__malloc(k ? k : 1);
        memcpy(cut, buf, k);
        CU_ASSERT_EQUAL(mf__chunk_parse(k ? cut : NULL, k, 0, &v), MF_EPROTO);
        mf__free(cut);
    }
    unsigned char bad[sizeof buf + 8];
    memcpy(bad, buf, sizeof buf);
    memset(bad + sizeof buf, 0, 8);
    CU_ASSERT_EQUAL(mf__chunk_parse(bad, sizeof bad, 0, &v), MF_EPROTO);
    uint64_t x = 0;
    memcpy(bad, &x, 8);
    CU_ASSERT_EQUAL(mf__chunk_parse(bad, sizeof buf, 0, &v), MF_EPROTO);
    x = UINT64_MAX;
    memcpy(bad, &x, 8);
    CU_ASSERT_EQUAL(mf__chunk_parse(bad, sizeof buf, 0, &v), MF_EPROTO);
    memcpy(bad, buf, sizeof buf);
    memcpy(bad + 24, &x, 8);
    CU_ASSERT_EQUAL(mf__chunk_parse(bad, sizeof buf, 0, &v), MF_EPROTO);

    /* A chunk of results: n | (status, 0, len) | padded items. */
    unsigned char r[8 + 2 * 16 + 8 + 8];
    uint32_t ok = MF_RS_OK, failed = MF_RS_FAILED, zero = 0;
    uint64_t m = 2, a = 2, b = 4;
    memcpy(r, &m, 8);
    memcpy(r + 8, &ok, 4);
    memcpy(r + 12, &zero, 4);
    memcpy(r + 16, &a, 8);
    memcpy(r + 24, &failed, 4);
    memcpy(r + 28, &zero, 4);
    memcpy(r + 32, &b, 8);
    memcpy(r + 40, "hi\0\0\0\0\0\0", 8);
    memcpy(r + 48, "oops\0\0\0\0", 8);
    CU_ASSERT_EQUAL_FATAL(mf__chunk_parse(r, sizeof r, 1, &v), MF_OK);
    CU_ASSERT_EQUAL(v.n, 2);
    CU_ASSERT_EQUAL(v.status[0], MF_RS_OK);
    CU_ASSERT_EQUAL(v.status[1], MF_RS_FAILED);
    CU_ASSERT_EQUAL(memcmp(v.ptr[1], "oops", 4), 0);
    mf__chunk_view_free(&v);
    uint32_t weird = 9;
    memcpy(r + 24, &weird, 4);
    CU_ASSERT_EQUAL(mf__chunk_parse(r, sizeof r, 1, &v), MF_EPROTO);
}

static int add_suites(void)
{
    CU_pSuite s = CU_add_suite("wire", NULL, NULL);
    if (!s)
        return -1;
    MF_ADD_TEST(s, test_tasks_round_trip);
    MF_ADD_TEST(s, test_results_round_trip);
    MF_ADD_TEST(s, test_truncated);
    MF_ADD_TEST(s, test_corrupted_fields);
    MF_ADD_TEST(s, test_random_garbage);
    MF_ADD_TEST(s, test_large_payload_in_place);
    MF_ADD_TEST(s, test_bad_flags);
    MF_ADD_TEST(s, test_chunks);
    MF_ADD_TEST(s, test_recall_returned);
    return 0;
}

int main(int argc, char **argv)
{
    int rc;
    MPI_Init(&argc, &argv);
    rc = cu_run();
    MPI_Finalize();
    return rc;
}
