/*
 * fuzz_wire.c — the message decoder (mf__wire_open / mf__wire_next).
 *
 * Input: one message as received from MPI. Checks:
 *  - every call returns MF_OK, MF_EDONE or MF_EPROTO, and MF_EPROTO comes
 *    with a detail message (mf_last_error() "MF_EPROTO: ...");
 *  - an accepted header has a known kind and flags;
 *  - every record lies where the format says: its header right after the
 *    previous record, an inline payload right after its header, wholly
 *    inside the input with its padding; an out-of-line record has no data
 *    and a length <= MF_WIRE_MAX; the reader's offset follows;
 *  - MF_EDONE only after `count` records that end exactly at the end of
 *    the input, and again on the next call;
 *  - round trip: a message read to MF_EDONE, re-encoded with
 *    mf__wire_begin / mf__wire_add_task / mf__wire_add_result /
 *    mf__wire_set_flags / mf__wire_finish, gives the input back byte for
 *    byte, except where the decoder tolerates what the encoder never
 *    writes (reserved header word, padding bytes, an out-of-line flag that
 *    does not match the payload size); those are compared field by field,
 *    or fail in strict mode (MF_FUZZ_STRICT=1).
 */
#include "errors.h"
#include "fuzz_common.h"
#include "mpifutures.h"
#include "wire.h"
#include "wire_compat.h"

int fz_verdict = -1;

static const unsigned char fz_zeros[MF_WIRE_OOL_MIN];

static void check_eproto(int rc, const char *what)
{
    const char *m = mf_last_error();
    FZ_CHECK(rc == MF_EPROTO, "%s returned %d (%s)", what, rc,
             mf_errname(rc));
    FZ_CHECK(strncmp(m, "MF_EPROTO: ", 11) == 0 && m[11] != '\0',
             "%s: MF_EPROTO without a detail message: '%s'", what, m);
}

/* 1 if the out-of-line flag is what mf_wire_add_* would have chosen. */
static int canonical_ool(const mf_wire_rec *rec)
{
    return rec->ool ? rec->len >= MF_WIRE_OOL_MIN
                    : rec->len < MF_WIRE_OOL_MIN;
}

/* Re-encode the records and compare with the input. */
static void reencode(const uint8_t *data, size_t size,
                     const mf_wire_reader *r, const mf_wire_rec *recs,
                     size_t n)
{
    mf_send s;
    int rc = mf__wire_begin(&s, r->kind);
    FZ_CHECK(rc == MF_OK, "mf__wire_begin: %s", mf_errname(rc));
    int canonical = 1;
    size_t nool = 0, ool_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const mf_wire_rec *c = &recs[i];
        /* An out-of-line payload is not in the message: any non-NULL
         * pointer stands for it (the encoder only keeps it). One below
         * MF_WIRE_OOL_MIN the encoder copies: zeros. */
        const void *p = c->ool ? (const void *)fz_zeros : c->data;
        uint32_t fl = (c->chunk ? MF_REC_CHUNK : 0) |
                      (FZ_REC_ISOLATE(c) ? FZ_ISOLATE_FLAG : 0);
        if (!canonical_ool(c))
            canonical = 0;
        if (c->len >= MF_WIRE_OOL_MIN) {
            nool++;
            ool_bytes += c->len;
        }
        if (r->kind == MF_MSG_TASKS || r->kind == MF_MSG_RETURNED)
            rc = FZ_ADD_TASK(&s, c->tag, c->fn, p, c->len, 0, fl,
                             FZ_REC_TIMEOUT(c));
        else
            rc = FZ_ADD_RESULT(&s, c->tag, c->status, FZ_REC_START(c), c->ns,
                               p, c->len, 0, fl);
        FZ_CHECK(rc == MF_OK, "re-encoding record %zu: %s", i,
                 mf_errname(rc));
    }
    mf__wire_set_flags(&s, r->flags);
    rc = mf__wire_finish(&s);
    FZ_CHECK(rc == MF_OK, "mf__wire_finish: %s", mf_errname(rc));
    FZ_CHECK(s.count == n, "encoder count %u, records %zu", s.count, n);
    FZ_CHECK(s.nool == nool, "encoder has %zu out-of-line parts, want %zu",
             s.nool, nool);
    FZ_CHECK(s.total == s.len + ool_bytes,
             "encoder total %zu != inline %zu + out of line %zu", s.total,
             s.len, ool_bytes);
    FZ_CHECK(s.len % 8 == 0, "encoded length %zu not a multiple of 8", s.len);

    if (fz_strict())
        FZ_CHECK(canonical,
                 "strict: the decoder accepted an out-of-line flag that "
                 "does not match the payload size (the encoder sends "
                 "exactly the payloads >= %d bytes out of line)",
                 MF_WIRE_OOL_MIN);
    if (canonical) {
        /* Byte for byte, after clearing what the decoder does not check
         * (the strict mode has checked those are zero already). */
        unsigned char *want = malloc(size ? size : 1);
        FZ_CHECK(want != NULL, "out of memory");
        memcpy(want, data, size);
        memset(want + 12, 0, 4);
        for (size_t i = 0; i < n; i++)
            if (!recs[i].ool) {
                size_t at = (size_t)((const uint8_t *)recs[i].data - data);
                memset(want + at + recs[i].len, 0,
                       fz_pad8(recs[i].len) - recs[i].len);
            }
        FZ_CHECK(s.len == size, "re-encoded %zu bytes, input %zu", s.len,
                 size);
        size_t diff = 0;
        while (diff < size && want[diff] == s.buf[diff])
            diff++;
        FZ_CHECK(diff == size,
                 "re-encoding differs at byte %zu (0x%02x, input 0x%02x)",
                 diff, s.buf[diff], want[diff]);
        free(want);
    } else {
        /* Field by field. */
        mf_wire_reader r2;
        mf_wire_rec c2;
        rc = mf__wire_open(&r2, s.buf, s.len);
        FZ_CHECK(rc == MF_OK, "re-encoded message refused: %s",
                 mf_last_error());
        FZ_CHECK(r2.kind == r->kind && r2.flags == r->flags && r2.count == n,
                 "re-encoded header differs");
        for (size_t i = 0; i < n; i++) {
            const mf_wire_rec *c = &recs[i];
            rc = mf__wire_next(&r2, &c2);
            FZ_CHECK(rc == MF_OK, "re-encoded record %zu: %s", i,
                     mf_last_error());
            FZ_CHECK(c2.tag == c->tag && c2.fn == c->fn &&
                         c2.status == c->status && c2.ns == c->ns &&
                         FZ_REC_START(&c2) == FZ_REC_START(c) &&
                         FZ_REC_TIMEOUT(&c2) == FZ_REC_TIMEOUT(c) &&
                         FZ_REC_ISOLATE(&c2) == FZ_REC_ISOLATE(c) &&
                         c2.chunk == c->chunk && c2.len == c->len,
                     "re-encoded record %zu differs", i);
            FZ_CHECK(c2.ool == (c->len >= MF_WIRE_OOL_MIN),
                     "record %zu of %zu bytes: ool %d", i, c->len, c2.ool);
            if (!c2.ool && c2.len)
                FZ_CHECK(
                    memcmp(c2.data, c->ool ? fz_zeros : c->data, c2.len) == 0,
                    "re-encoded payload %zu differs", i);
        }
        FZ_CHECK(mf__wire_next(&r2, &c2) == MF_EDONE,
                 "re-encoded message does not end");
    }
    mf__wire_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mf_wire_reader r;
    mf_wire_rec rec;

    fz_verdict = 0;
    mf__clear_error();
    int rc = mf__wire_open(&r, data, size);
    if (rc != MF_OK) {
        check_eproto(rc, "mf__wire_open");
        return 0;
    }
    FZ_CHECK(size >= MF_WIRE_HDR, "accepted a %zu-byte header", size);
    FZ_CHECK(r.kind >= MF_MSG_TASKS && r.kind <= MF_MSG_RETURNED,
             "accepted kind %d", r.kind);
    FZ_CHECK((r.flags & ~(unsigned)MF_HDR_MORE) == 0,
             "accepted header flags %#x", r.flags);
    FZ_CHECK((r.kind != MF_MSG_SHUTDOWN && r.kind != MF_MSG_RECALL) ||
                 r.count == 0,
             "shutdown or recall with %u records", r.count);
    FZ_CHECK(r.off == MF_WIRE_HDR && r.seen == 0, "reader not at record 0");
    FZ_CHECK(fz_get32(data + 8) == r.count, "count mismatch");
    if (fz_strict()) {
        FZ_CHECK(fz_get32(data + 12) == 0,
                 "strict: reserved header word 0x%08x accepted (wire.h: "
                 "'0 u32')",
                 fz_get32(data + 12));
        FZ_CHECK(r.count <= (size - MF_WIRE_HDR) / FZ_TASK_REC,
                 "strict: header claims %u records; %zu bytes hold at "
                 "most %zu (a reader sizing a queue by count allocates "
                 "for them before any record is checked)",
                 r.count, size, (size - MF_WIRE_HDR) / FZ_TASK_REC);
    }

    size_t hdr = fz_rec_size(r.kind);
    size_t max = (size - MF_WIRE_HDR) / hdr + 1, n = 0;
    mf_wire_rec *recs = malloc(max * sizeof *recs);
    FZ_CHECK(recs != NULL, "out of memory");
    size_t off = MF_WIRE_HDR;
    for (;;) {
        mf__clear_error();
        rc = mf__wire_next(&r, &rec);
        if (rc == MF_EPROTO) {
            check_eproto(rc, "mf__wire_next");
            break;
        }
        if (rc == MF_EDONE) {
            FZ_CHECK(r.seen == r.count && n == r.count,
                     "MF_EDONE after %zu of %u records", n, r.count);
            FZ_CHECK(off == size, "MF_EDONE with %zu of %zu bytes read", off,
                     size);
            FZ_CHECK(mf__wire_next(&r, &rec) == MF_EDONE,
                     "MF_EDONE not sticky");
            break;
        }
        FZ_CHECK(rc == MF_OK, "mf__wire_next returned %d (%s)", rc,
                 mf_errname(rc));
        FZ_CHECK(n < r.count && n + 1 < max,
                 "record %zu accepted; count %u, room for %zu", n, r.count,
                 max - 1);
        FZ_CHECK(size - off >= hdr, "record %zu header overruns", n);
        FZ_CHECK(fz_get64(data + off) == rec.tag, "record %zu tag", n);
        FZ_CHECK(r.kind != MF_MSG_RESULTS || rec.status <= FZ_RS_MAX,
                 "record %zu: status %u accepted", n, rec.status);
        FZ_CHECK(r.kind == MF_MSG_TASKS || r.kind == MF_MSG_RETURNED ||
                     !FZ_REC_ISOLATE(&rec),
                 "record %zu: a result with the isolate flag", n);
        off += hdr;
        if (rec.ool) {
            FZ_CHECK(rec.data == NULL, "out-of-line record %zu has data", n);
            FZ_CHECK(rec.len <= MF_WIRE_MAX,
                     "out-of-line record %zu of %zu bytes", n, rec.len);
        } else {
            FZ_CHECK(rec.data == data + off,
                     "record %zu payload at offset %td, expected %zu", n,
                     rec.data ? (const uint8_t *)rec.data - data : -1, off);
            FZ_CHECK(fz_inside(rec.data, fz_pad8(rec.len), data, size),
                     "record %zu payload (%zu bytes, padded) outside the "
                     "input",
                     n, rec.len);
            if (fz_strict())
                for (size_t k = rec.len; k < fz_pad8(rec.len); k++)
                    FZ_CHECK(data[off + k] == 0,
                             "strict: record %zu: padding byte %zu is "
                             "0x%02x",
                             n, k - rec.len, data[off + k]);
            off += fz_pad8(rec.len);
        }
        FZ_CHECK(r.off == off && r.seen == n + 1,
                 "reader at %zu/%u, expected %zu/%zu", r.off, r.seen, off,
                 n + 1);
        recs[n++] = rec;
    }
    if (rc == MF_EDONE) {
        fz_verdict = 1;
        reencode(data, size, &r, recs, n);
    }
    free(recs);
    return 0;
}
