/*
 * suite.h — what the files of mf_mpi_suite share (tests/mpi).
 *
 * mf_mpi_suite is one CUnit program split by area. suite_main.c holds
 * main(), the command-line options and the ordered list of scenarios
 * (g_scenarios); each test_<area>.c holds the tests of one area and
 * exports the test tables and hooks that the list names, declared below;
 * suite_helpers.c holds the few helpers that several areas use. The run
 * machinery (scenarios, checks, gates, the standard task functions) is
 * the harness, mft.h / mft.c.
 *
 * Adding an area: a new test_<area>.c that opens with a paragraph saying
 * what it covers, its table (and hooks) declared here, one line in
 * g_scenarios and one line in the source list of CMakeLists.txt.
 */
#ifndef SUITE_H
#define SUITE_H

#include "mft.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MAXW 64
#define T 30.0 /* bound of every wait that must succeed */

/* ---- Helpers shared by several areas (suite_helpers.c) -------------- */

/* Map options whose timeout (T) bounds every mf_map_next() of the test;
 * one static object, overwritten by the next call. */
const mf_map_opts *bounded(int unordered, size_t chunk);
/* Submit and assert MF_OK; returns the future ({0} on failure). */
mf_future submit_ok(mf_fn_id fn, const void *arg, size_t len);
/* Wait for f's result and compare with want/wlen. */
void expect_result(mf_future f, const void *want, size_t wlen);
/* A task function that does nothing (registrations that must fail or
 * that the executor must not know). */
int t_dummy(mf_task *task, void *ud);
/* Release every gate of gs (MFT_GATE_OK), then assert each result. */
void release_all(mft_gate **gs, int n);

/* Callback log: cb_append, registered with a cb_rec, appends the record's
 * id and the future's handle to its log (the first 32 of them). */
typedef struct cb_log {
    atomic_int n;
    int ids[32];
    uint64_t handles[32];
} cb_log;

typedef struct cb_rec {
    cb_log *log;
    int id;
} cb_rec;

void cb_append(mf_future f, void *ud);

/* Map arguments: MAPN int32 items (i * 3 + 1), set by map_args_init(). */
enum { MAPN = 50 };
extern int32_t g_map_vals[MAPN];
extern const void *g_map_args[MAPN];
extern size_t g_map_lens[MAPN];
void map_args_init(void);
/* A map of the MAPN items with fn (echo-like) and the given order and
 * chunksize, checked item by item; fail_at >= 0 makes that item fail
 * (with ID_FAILIF). */
void map_check(int unordered, size_t chunk, mf_fn_id fn, int fail_at);

/* ---- Scenario tables and hooks, by area (named in g_scenarios) ------ */

/* test_api_local.c: every-rank scenarios (mft_scenario.all_ranks) */
void ar_api_local(void);
void ar_reopen(void);

/* test_futures.c */
extern const mft_test tests_lifetime[];
extern const mft_test tests_helpers[];
void ar_mf_run(void);
extern const mft_test tests_basic[];
extern const mft_test tests_big[];

/* test_errors.c */
extern const mft_test tests_errors[];

/* test_cancel.c */
extern const mft_test tests_cancel[];
void setup_env_window1(void);
void post_env_window1(void);

/* test_callbacks.c */
extern const mft_test tests_callbacks[];
extern const mft_test tests_callbacks_more[];

/* test_threads.c */
extern const mft_test tests_threads[];
extern const mft_test tests_progress_thread[];
void opts_progress(mf_executor_opts *o);

/* test_wait.c */
extern const mft_test tests_wait[];

/* test_as_completed.c */
extern const mft_test tests_as_completed[];

/* test_map.c */
extern const mft_test tests_map[];
extern const mft_test tests_map_gated[];
void opts_map(mf_executor_opts *o);

/* test_stats.c */
extern const mft_test tests_stats[];
void opts_stats(mf_executor_opts *o);
void pc_trace(void);

/* test_shutdown.c */
extern const mft_test tests_shutdown_nowait[];
extern const mft_test tests_shutdown_cancel[];
extern const mft_test tests_shutdown_wait[];
extern const mft_test tests_map_no_iter[];
extern const mft_test tests_shutdown_cb[];
extern const mft_test tests_fire_and_forget[];
extern const mft_test tests_close_keeps[];
void opts_zero(mf_executor_opts *o);
void pc_close_keeps(void);

/* test_traffic.c */
extern const mft_test tests_traffic[];
void pre_traffic(void);
void post_traffic(void);

/* test_mismatch.c */
extern const mft_test tests_after_mismatch[];
void setup_mismatch_root_only(void);
void setup_mismatch_worker_only(void);
void ao_mismatch_root_only(void);
void ao_mismatch_worker_only(void);

#endif /* SUITE_H */
