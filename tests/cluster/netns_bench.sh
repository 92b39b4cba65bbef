#!/usr/bin/env bash
# tests/cluster/netns_bench.sh — task round trip and throughput across
# network-namespace "hosts" (TCP over veth + bridge) beside the same
# figures on one host (shared memory), with mf-bench --quick. A
# measurement, not a test: run it by hand, as root, on a quiet machine.
#
#   tests/cluster/netns_bench.sh BUILD_DIR [REPEATS]
#
# BUILD_DIR is a build (Open MPI or MPICH) with tests/perf/mf-bench and
# mf-factorial. Configurations, each REPEATS times (default 3):
#   shm 2:  2 ranks on one host          tcp 2:  rank 0 on h1, rank 1 on h2
#   shm 3:  3 ranks on one host          tcp 3:  one rank on each of h1..h3
# and the seed workload of mf-factorial (2,064 factorials) on 3 ranks,
# one host vs three hosts. One-host runs go through scripts/run-local;
# namespace runs use ns_mpirun (binding off, yield when idle). Prints the mf-bench tables, then a summary of
# the main rows (median over the repeats).
set -u
BUILD=$(cd "$1" && pwd)
REPEATS=${2:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH=$BUILD/tests/perf/mf-bench
FACT=$BUILD/mf-factorial
MPIRUN=$(sed -n 's/^MPIEXEC_EXECUTABLE:FILEPATH=//p' "$BUILD/CMakeCache.txt")
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"
# shellcheck source=netns_lib.sh
. "$ROOT/tests/cluster/netns_lib.sh"
[ -x "$BENCH" ] && [ -x "$FACT" ] || { echo "need $BENCH and $FACT" >&2; exit 2; }
require_cluster_env
take_lock
OUT=$(mktemp -d "${TMPDIR:-/tmp}/mf-netns-bench.XXXXXX")
trap 'netns_down; echo "raw outputs in $OUT"' EXIT
netns_up || exit 1
H1=${NS_HOSTS[0]} H2=${NS_HOSTS[1]} H3=${NS_HOSTS[2]}
ns_hostfile "$OUT/hosts2" 1 "$H1" "$H2"
ns_hostfile "$OUT/hosts3" 1 "$H1" "$H2" "$H3"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One host: as users run it (run-local adds --oversubscribe --bind-to none
# only when ranks exceed cores).
shm() { MPIEXEC=$MPIRUN "$ROOT/scripts/run-local" -q -n "$1" "${@:2}"; }

for r in $(seq "$REPEATS"); do
    for np in 2 3; do
        say "run $r: shm $np ranks"
        shm "$np" "$BENCH" --quick >"$OUT/shm$np.$r" 2>&1
        say "run $r: tcp $np hosts"
        NS_TIMEOUT=300 ns_mpirun "$OUT/hosts$np" "$np" "$BENCH" --quick >"$OUT/tcp$np.$r" 2>&1
    done
    shm 3 "$FACT" --quiet --range 1000:20000:2000 --range 50000:200000:64 >"$OUT/fshm.$r" 2>&1
    ns_mpirun "$OUT/hosts3" 3 "$FACT" --quiet --range 1000:20000:2000 \
        --range 50000:200000:64 >"$OUT/ftcp.$r" 2>&1
done

for f in "$OUT"/shm2.1 "$OUT"/tcp2.1 "$OUT"/shm3.1 "$OUT"/tcp3.1; do
    echo "==== $(basename "$f")"; cat "$f"
done

# Median over the repeats of the mpifutures column of a row.
row() {  # row CONFIG PATTERN
    local f
    for f in "$OUT/$1".*; do
        grep -F "$2" "$f" | head -n 1 | awk -F'|' '{ gsub(/^ +| +$/, "", $3); print $3 }'
    done | sort -g | awk '{ v[NR] = $0 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
echo
echo "| figure | 1 worker, shared memory | 1 worker, other host (TCP) | 2 workers, shared memory | 2 workers, 2 other hosts (TCP) |"
echo "|---|---|---|---|---|"
for p in "empty task round trip, median" "empty task round trip, p99" "(raw MPI 16 B ping-pong round trip)" \
         "submit/result, 50000 outstanding" "as_completed over 100,000 futures" \
         "map, chunksize 1 " "map, chunksize 1000" "echo 64 KiB both ways" "echo 8 MiB both ways"; do
    echo "| ${p% } | $(row shm2 "$p") | $(row tcp2 "$p") | $(row shm3 "$p") | $(row tcp3 "$p") |"
done
fs() { for f in "$OUT/$1".*; do sed -n 's/^summary: .*seconds=//p' "$f"; done | sort -g | tr '\n' ' '; }
echo
echo "seed workload (2,064 factorials), 3 ranks, in-program seconds: one host: $(fs fshm)| 3 hosts: $(fs ftcp)"
