/*
 * set_run.c — the set run (see set_run.h): submit, collect, print.
 *
 * Design: the integers are sorted largest first and cut into chunks of
 * about equal cost (bits of n!) unless --chunk fixes the size: the
 * expensive items start early, the cheap ones fill the gaps at the end
 * (longest-processing-time order), and one task per chunk keeps the
 * per-task overhead small next to the work. Results are taken with
 * mf_as_completed as they come; --ordered holds lines back until all
 * earlier ones are printed. After a signal the run goes on collecting:
 * what finishes in the grace period counts, cancelled and abandoned
 * futures are expected and skipped.
 */
#define _POSIX_C_SOURCE 200809L

#include "set_run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpifutures/gmp.h>

#include "common.h"
#include "factorial_math.h"
#include "progress.h"
#include "report.h"
#include "tasks.h"

typedef struct item_out {
    char *line;  /* result line (ordered mode) */
    char *value; /* decimal value (ordered + --print) */
} item_out;

typedef struct set_state {
    const opts *o;
    item_out *outs;
    size_t next_print;
    uint64_t digits, checksum;
    size_t done, printed;
    int rc;
    mpz_t v, ref;
} set_state;

/* Print one result (line, and value with --print); the demo prints only
 * its first max_lines results. */
static void put_result(set_state *st, size_t idx, const char *line,
                       const char *value)
{
    const opts *o = st->o;
    if (o->max_lines && st->printed >= o->max_lines) {
        if (st->printed++ == o->max_lines)
            printf("... (the demo shows only the first %zu result lines; the "
                   "summary follows)\n",
                   o->max_lines);
        fflush(stdout);
        return;
    }
    st->printed++;
    fputs(line, stdout);
    if (value)
        printf("%llu! = %s\n", (unsigned long long)o->ns[idx], value);
    if (o->max_lines && st->printed == o->max_lines)
        fflush(stdout);
}

static void emit(set_state *st, size_t idx, char *line, char *value)
{
    const opts *o = st->o;
    if (o->quiet) {
        free(line);
        free(value);
        return;
    }
    if (!o->ordered) {
        put_result(st, idx, line, value);
        free(line);
        free(value);
        return;
    }
    st->outs[idx].line = line;
    st->outs[idx].value = value;
    while (st->next_print < o->count && st->outs[st->next_print].line) {
        item_out *it = &st->outs[st->next_print];
        put_result(st, st->next_print, it->line, it->value);
        free(it->line);
        free(it->value);
        it->line = it->value = NULL;
        st->next_print++;
    }
}

/* The value of n! that follows record w in a full chunk result, at
 * data[*off..len): checked with --check, written with --out; its decimal
 * form in *dec with --print (else NULL). */
static int take_value(set_state *st, uint64_t n, const uint64_t *w,
                      const unsigned char *data, size_t len, size_t *off,
                      char **dec)
{
    const opts *o = st->o;
    size_t used = 0;
    int rc = mf_mpz_unpack(st->v, data + *off, len - *off, &used);
    if (rc != MF_OK) {
        fprintf(stderr, "mf-factorial: value of %llu! is malformed: %s\n",
                (unsigned long long)n, mf_strerror(rc));
        return EX_RUNTIME;
    }
    *off += used;
    if (o->check) {
        mpz_fac_ui(st->ref, (unsigned long)n);
        int same = mpz_cmp(st->ref, st->v) == 0;
        uint64_t d = mff_digits(st->ref);
        same = same && d == w[1] && mff_mod_m(st->ref) == w[2] &&
               mff_fact_mod_m(n) == w[2] &&
               mff_leading(st->ref, d, LEAD_DIGITS) == w[3] &&
               mff_fact_tail9(n, st->ref) == w[4] &&
               mff_fact_zeros(n) == w[5];
        if (!same) {
            fprintf(stderr,
                    "mf-factorial: CHECK FAILED for %llu! (from rank "
                    "%llu)\n",
                    (unsigned long long)n, (unsigned long long)w[7]);
            st->rc = EX_CHECK;
        }
    }
    if (o->print || o->outdir) {
        *dec = mpz_get_str(NULL, 10, st->v);
        if (o->outdir && write_value_file(o->outdir, n, *dec) != EX_OK) {
            free(*dec);
            *dec = NULL;
            return EX_RUNTIME;
        }
        if (!o->print) {
            free(*dec);
            *dec = NULL;
        }
    }
    return EX_OK;
}

/* The result line of record w (malloc'ed; NULL when out of memory). */
static char *result_line(uint64_t n, const uint64_t *w)
{
    char tail[32];
    if (w[1] - w[5] > 9)
        snprintf(tail, sizeof tail, "%09llu", (unsigned long long)w[4]);
    else
        snprintf(tail, sizeof tail, "%llu", (unsigned long long)w[4]);
    size_t cap = 256;
    char *line = malloc(cap);
    if (line == NULL)
        return NULL;
    snprintf(line, cap,
             "n=%llu digits=%llu lead=%llu tail=%s zeros=%llu "
             "rank=%llu ms=%.3f\n",
             (unsigned long long)n, (unsigned long long)w[1],
             (unsigned long long)w[3], tail, (unsigned long long)w[5],
             (unsigned long long)w[7], (double)w[6] * 1e-6);
    return line;
}

/* Handle one chunk result: `idx` are the item indices of the chunk. */
static int take_chunk(set_state *st, const size_t *idx, size_t cnt,
                      const unsigned char *data, size_t len, int full)
{
    const opts *o = st->o;
    if (len < cnt * REC_BYTES) {
        fprintf(stderr, "mf-factorial: malformed chunk result (%zu bytes)\n",
                len);
        return EX_RUNTIME;
    }
    size_t off = cnt * REC_BYTES;
    for (size_t i = 0; i < cnt; i++) {
        const unsigned char *r = data + i * REC_BYTES;
        uint64_t w[REC_WORDS];
        for (int k = 0; k < REC_WORDS; k++)
            w[k] = get64(r + 8 * k);
        uint64_t n = o->ns[idx[i]];
        if (w[0] != n || w[2] >= MFF_MOD) {
            fprintf(stderr,
                    "mf-factorial: result record for %llu! is malformed\n",
                    (unsigned long long)n);
            return EX_RUNTIME;
        }
        st->digits += w[1];
        st->checksum += w[2];
        if (st->checksum >= MFF_MOD)
            st->checksum -= MFF_MOD;
        char *dec = NULL;
        if (full && take_value(st, n, w, data, len, &off, &dec) != EX_OK)
            return EX_RUNTIME;
        char *line = NULL;
        if (!o->quiet && (line = result_line(n, w)) == NULL)
            return EX_RUNTIME;
        emit(st, idx[i], line, dec);
        st->done++;
    }
    if (full && off != len) {
        fprintf(stderr, "mf-factorial: chunk result has %zu trailing bytes\n",
                len - off);
        return EX_RUNTIME;
    }
    return EX_OK;
}

/* Item indices by n, largest first (qsort has no context argument). */
static const uint64_t *g_sort_ns;
static int cmp_idx_desc(const void *pa, const void *pb)
{
    uint64_t a = g_sort_ns[*(const size_t *)pa],
             b = g_sort_ns[*(const size_t *)pb];
    return a < b ? 1 : a > b ? -1 : 0;
}

typedef struct hidx {
    uint64_t h;
    size_t idx;
} hidx;

static int cmp_hidx(const void *pa, const void *pb)
{
    uint64_t a = ((const hidx *)pa)->h, b = ((const hidx *)pb)->h;
    return a < b ? -1 : a > b;
}

/* Index of the chunk whose future handle is h (nchunks if none). */
static size_t find_chunk(const hidx *v, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].h == h ? v[lo].idx : n;
}

/* One set run: what its steps share. */
typedef struct set_ctx {
    mf_executor *ex;
    const opts *o;
    mf_fn_id fn_chunk;
    int full; /* tasks return the values too (--print, --out, --check) */
    set_state st;
    size_t *order; /* item indices, largest n first */
    size_t *start; /* chunk c is order[start[c] .. start[c + 1]) */
    size_t nchunks, submitted;
    mf_future *futs; /* futs[c]: chunk c's, for c < submitted */
    unsigned char *arg;
    size_t jr_ints, jr_tasks; /* completed from the journal at submit */
    progress pg;
} set_ctx;

/* Sort the items largest first and cut them into chunks. */
static void plan_chunks(set_ctx *c)
{
    const opts *o = c->o;
    size_t n = o->count, *order = c->order, *start = c->start;
    /* Largest first: the expensive items start early and the cheap ones
     * fill the gaps at the end (longest-processing-time order). */
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    g_sort_ns = o->ns;
    qsort(order, n, sizeof *order, cmp_idx_desc);
    /* Chunks: fixed size, or by estimated cost (bits of n!). */
    size_t nchunks = 0;
    const double target_bits = 2.0e5;
    for (size_t i = 0; i < n;) {
        start[nchunks++] = i;
        if (o->chunk) {
            i += o->chunk;
        } else {
            double acc = 0;
            size_t k = 0;
            do {
                acc += mff_fact_bits(o->ns[order[i]]) + 64.0 * 16;
                i++;
                k++;
            } while (i < n && acc < target_bits && k < 4096);
        }
        if (i > n)
            i = n;
    }
    start[nchunks] = n;
    c->nchunks = nchunks;
}

/* Submit every chunk (until a signal stops it: then the ones submitted
 * are collected); count those completed from the journal. */
static int submit_chunks(set_ctx *c)
{
    const opts *o = c->o;
    unsigned char *arg = c->arg;
    int rc = EX_OK;
    size_t jr = journal_reused(c->ex);
    for (size_t ci = 0; ci < c->nchunks; ci++) {
        size_t cnt = c->start[ci + 1] - c->start[ci];
        put64(arg, ((uint64_t)CHUNK_MAGIC << 32) | (c->full ? FLAG_FULL : 0));
        put64(arg + 8, cnt);
        for (size_t k = 0; k < cnt; k++)
            put64(arg + 16 + 8 * k, o->ns[c->order[c->start[ci] + k]]);
        int e =
            mf_submit(c->ex, c->fn_chunk, arg, 16 + 8 * cnt, &c->futs[ci]);
        if (e == MF_EINTR)
            break; /* a signal: collect what was submitted */
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: submit failed: %s (%s)\n",
                    mf_strerror(e), mf_last_error());
            rc = EX_RUNTIME;
            break;
        }
        c->submitted++;
        size_t jr2 = journal_reused(c->ex); /* completed from the journal? */
        if (jr2 != jr) {
            jr = jr2;
            c->jr_ints += cnt;
            c->jr_tasks++;
        }
    }
    return rc;
}

/* How take_future() left a completed future. */
enum { TAKEN, SKIPPED, FAILED };

/* One completed future of as_completed: its chunk taken (*rc: how that
 * went), skipped (cancelled or abandoned after a signal), or FAILED (*rc
 * says why; the collection stops). */
static int take_future(set_ctx *c, mf_future f, const hidx *byh, int *rc)
{
    const void *data = NULL;
    size_t len = 0;
    int r = mf_future_result(f, 0, &data, &len);
    if (r != MF_OK && mf_executor_interrupted(c->ex)) {
        /* After a signal: queued futures are cancelled, running
         * ones abandoned after the grace period. Go on: results
         * that still arrive in the grace period count. */
        const mf_task_error *te = NULL;
        if (r == MF_ECANCELLED ||
            (r == MF_ETASK && mf_future_error(f, 0, &te) == MF_OK && te &&
             te->reason == MF_FAIL_ABANDONED))
            return SKIPPED;
    }
    if (r != MF_OK) {
        *rc = report_future_error(f, r, "a factorial task");
        return FAILED;
    }
    size_t ci = find_chunk(byh, c->nchunks, f.h);
    if (ci == c->nchunks) {
        fprintf(stderr, "mf-factorial: unknown future from as_completed\n");
        *rc = EX_RUNTIME;
        return FAILED;
    }
    progress_clear(&c->pg);
    *rc = take_chunk(&c->st, c->order + c->start[ci],
                     c->start[ci + 1] - c->start[ci], data, len, c->full);
    set_done(c->st.done);
    return TAKEN;
}

/* Take the submitted chunks' results as they complete. */
static int collect_chunks(set_ctx *c)
{
    const opts *o = c->o;
    size_t nchunks = c->nchunks;
    hidx *byh = malloc((nchunks ? nchunks : 1) * sizeof *byh);
    if (byh == NULL) {
        fprintf(stderr, "mf-factorial: out of memory\n");
        return EX_RUNTIME;
    }
    for (size_t ci = 0; ci < nchunks; ci++)
        byh[ci] = (hidx){c->futs[ci].h, ci};
    qsort(byh, nchunks, sizeof *byh, cmp_hidx);
    int rc = EX_OK;
    mf_as_completed_iter *it = NULL;
    int e = mf_as_completed(c->futs, nchunks, MF_FOREVER, &it);
    if (e != MF_OK) {
        fprintf(stderr, "mf-factorial: as_completed: %s\n", mf_strerror(e));
        rc = EX_RUNTIME;
    }
    mf_future f;
    long raise_after = env_long("MF_FACTORIAL_TEST_SIGNAL_AFTER");
    while (rc == EX_OK && (e = mf_as_completed_next(it, &f)) == MF_OK) {
        int t = take_future(c, f, byh, &rc);
        if (t == SKIPPED)
            continue;
        if (t == FAILED)
            break;
        /* Test hook: a walltime warning to the root after K integers,
         * while tasks are in flight (tests/factorial). */
        if (raise_after >= 0 && c->st.done >= (size_t)raise_after) {
            raise_after = -1;
            raise(SIGUSR1);
        }
        progress_draw(&c->pg, c->st.done, 0,
                      !o->quiet &&
                          (!o->max_lines || c->st.printed <= o->max_lines));
    }
    if (rc == EX_OK && e != MF_EDONE) {
        fprintf(stderr, "mf-factorial: as_completed_next: %s\n",
                mf_strerror(e));
        rc = EX_RUNTIME;
    }
    mf_as_completed_free(it);
    free(byh);
    return rc;
}

/* Plan, submit, collect; then the bar, the journal line, the releases
 * and the totals. */
static int set_steps(set_ctx *c, double *seconds, uint64_t *digits,
                     uint64_t *checksum)
{
    const opts *o = c->o;
    plan_chunks(c);
    progress_open(&c->pg, o, o->count);
    double t0 = now();
    c->pg.t0 = t0;
    int rc = submit_chunks(c);
    c->nchunks = c->submitted; /* only those are collected */
    if (rc == EX_OK)
        rc = collect_chunks(c);
    *seconds = now() - t0;
    progress_draw(&c->pg, c->st.done, 1, 0);
    progress_close(&c->pg);
    set_done(c->st.done);
    journal_report(c->ex, "integers", c->jr_ints, o->count, c->jr_tasks,
                   c->submitted);
    if (rc == EX_RUNTIME || rc == EX_INTERRUPTED)
        mf_executor_shutdown(c->ex, 0, 1);
    for (size_t ci = 0; ci < c->submitted; ci++)
        release_future(c->futs[ci]);
    if (rc == EX_OK)
        rc = c->st.rc;
    *digits = c->st.digits;
    *checksum = c->st.checksum;
    return rc;
}

int run_set(mf_executor *ex, const opts *o, mf_fn_id fn_chunk,
            double *seconds, uint64_t *digits, uint64_t *checksum)
{
    size_t n = o->count;
    set_ctx c;
    memset(&c, 0, sizeof c);
    c.ex = ex;
    c.o = o;
    c.fn_chunk = fn_chunk;
    c.full = o->print || o->outdir || o->check;
    c.st.o = o;
    mpz_inits(c.st.v, c.st.ref, NULL);
    if (o->ordered)
        c.st.outs = calloc(n, sizeof *c.st.outs);
    c.order = malloc(n * sizeof *c.order);
    c.start = malloc((n + 1) * sizeof *c.start);
    c.futs = malloc(n * sizeof *c.futs);
    c.arg = malloc(16 + 8 * (o->chunk ? o->chunk : 4096));
    int rc;
    if ((o->ordered && !c.st.outs) || !c.order || !c.start || !c.futs ||
        !c.arg) {
        fprintf(stderr, "mf-factorial: out of memory\n");
        rc = EX_RUNTIME;
    } else {
        rc = set_steps(&c, seconds, digits, checksum);
    }
    if (c.st.outs) {
        for (size_t i = 0; i < n; i++) {
            free(c.st.outs[i].line);
            free(c.st.outs[i].value);
        }
        free(c.st.outs);
    }
    mpz_clears(c.st.v, c.st.ref, NULL);
    free(c.order);
    free(c.start);
    free(c.futs);
    free(c.arg);
    return rc;
}
