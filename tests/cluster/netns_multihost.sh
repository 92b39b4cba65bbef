#!/usr/bin/env bash
# tests/cluster/netns_multihost.sh — mf-factorial across three "hosts"
# (network namespaces joined by a bridge, TCP between them, Open MPI's rsh
# launcher entering the namespaces; see netns_lib.sh).
#
#   netns_multihost.sh ROOT MF_FACTORIAL MPIEXEC
#
# With Open MPI (rsh launcher, plm_rsh_agent) or MPICH (hydra's
# -launcher rsh -launcher-exec), whichever MPIEXEC is.
#
# 1. The ranks really are on three hosts (hostname and network namespace
#    per rank).
# 2. The seed workload across the hosts gives the same summary as on one
#    host (and as perf-baseline.md §3).
# 3. SIGKILL of one worker's process on host 2 mid-run: the job ends within
#    10 s, non-zero, with a message naming the lost rank (and its host).
# Everything is removed at the end (trap), including on failure.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces...).
set -u
ROOT=$1 FACT=$2 MPIEXEC=$3
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"
# shellcheck source=netns_lib.sh
. "$ROOT/tests/cluster/netns_lib.sh"

[ -x "$FACT" ] || skip "mf-factorial not built (needs GMP): $FACT"
export MPIRUN=$MPIEXEC   # used by ns_mpirun
require_cluster_env
take_lock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mf-netns.XXXXXX")
cleanup() {  # idempotent
    netns_down
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    if [ "$n_fail" -eq 0 ]; then rm -rf "$WORK"; else say "outputs kept in $WORK"; fi
    WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$WORK" || exit 1

netns_up || finish
H2=${NS_HOSTS[1]}
ns_hostfile hosts 2

# ---- 1. where the ranks run ------------------------------------------------
out=$(ns_mpirun hosts 6 sh -c \
        'echo "${OMPI_COMM_WORLD_RANK:-$PMI_RANK} $(hostname) $(readlink /proc/self/ns/net)"' 2>&1)
echo "$out" | sed 's/^/    /'
nhosts=$(awk 'NF == 3 { print $2 }' <<<"$out" | sort -u | wc -l)
nnets=$(awk 'NF == 3 { print $3 }' <<<"$out" | sort -u | wc -l)
rootnet=$(readlink /proc/self/ns/net)
check "6 ranks on 3 hosts with 3 network namespaces (not the machine's)" \
    test "$nhosts $nnets $(grep -c "$rootnet" <<<"$out")" = "3 3 0"

# ---- 2. same summary across hosts as on one host ---------------------------
SEED=(--quiet --range 1000:20000:2000 --range 50000:200000:64)
SEED_SUM="count=2064 digits=114238284 checksum=732216442968277340"
sum_of() { grep '^summary: ' "$1" | tail -n 1 | sed 's/ seconds=.*//; s/^summary: //'; }
t=$EPOCHREALTIME
MPIEXEC=$MPIRUN timeout 120 "$ROOT/scripts/run-local" -q -n 3 "$FACT" "${SEED[@]}" >one.out 2>&1
rc1=$?
say "one host, 3 ranks: rc=$rc1, $(elapsed_since "$t") s: $(grep '^summary' one.out)"
t=$EPOCHREALTIME
ns_mpirun hosts 5 "$FACT" "${SEED[@]}" >multi.out 2>&1
rc3=$?
say "3 hosts, 5 ranks: rc=$rc3, $(elapsed_since "$t") s: $(grep '^summary' multi.out)"
if [ "$rc1" = 0 ] && [ "$rc3" = 0 ] && [ "$(sum_of one.out)" = "$(sum_of multi.out)" ] \
   && [ "$(sum_of multi.out)" = "$SEED_SUM" ]; then
    ok "seed workload: same summary on 3 hosts as on one ($SEED_SUM)"
else
    bad "seed workload: one host rc=$rc1 '$(sum_of one.out)', 3 hosts rc=$rc3 '$(sum_of multi.out)', want '$SEED_SUM'"
    tail -n 20 multi.out
fi

# ---- 3. a worker process on host 2 is killed mid-run -----------------------
# Enough work for minutes (~20 ms tasks), so the kill lands mid-run.
ns_mpirun hosts 5 "$FACT" --range 150000:250000:20000 --chunk 1 >kill.out 2>&1 &
mpid=$!
started() { [ "$(grep -c '^n=' kill.out 2>/dev/null)" -ge 20 ]; }
victim=
if poll_until 60 0.1 started; then
    for p in $(ip netns pids "$H2"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mf-factorial ] || continue
        victim=$p
        break
    done
fi
if [ -z "$victim" ]; then
    bad "kill test: no mf-factorial rank found running on $H2 (results so far: $(grep -c '^n=' kill.out))"
    kill -TERM "$mpid" 2>/dev/null
    tail -n 20 kill.out
else
    vrank=$(ns_rank_of "$victim")
    before=$(grep -c '^n=' kill.out)
    t=$EPOCHREALTIME
    kill -KILL "$victim"
    mpirun_done() { ! proc_alive "$mpid"; }
    poll_until 30 0.05 mpirun_done
    took=$(elapsed_since "$t")
    if proc_alive "$mpid"; then
        bad "kill test: the job still runs 30 s after rank $vrank (pid $victim on $H2) was killed"
        kill -KILL "$mpid" 2>/dev/null
    fi
    wait "$mpid"
    rc=$?
    say "kill test: killed rank $vrank (pid $victim on $H2) after $before results; mpirun exit $rc after $took s"
    sed 's/^/    /' kill.out | grep -v '^    n=' | head -n 30
    check "kill test: job ended within 10 s ($took s)" awk -v t="$took" 'BEGIN { exit !(t < 10) }'
    check "kill test: exit status non-zero ($rc)" test "$rc" -ne 0
    if grep -qE "rank $vrank( |,|\\)).*($H2|signal 9|Killed)|process rank $vrank with PID $victim on node $H2" kill.out; then
        ok "kill test: a message names the lost rank $vrank: $(grep -m1 -E "rank $vrank" kill.out)"
    else
        bad "kill test: no message names rank $vrank$(grep -q "PID $victim RUNNING AT" kill.out && echo " (MPICH's hydra names only PID $victim and the host; naming the rank is left to the program)")"
    fi
    check "kill test: no summary line claims success" bash -c "! grep -q '^summary: ' '$WORK/kill.out'"
fi

cleanup
trap - EXIT
finish
