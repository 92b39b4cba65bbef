# tests/cluster/lib.sh — helpers shared by the cluster test drivers (sourced).
# shellcheck shell=bash
#
# Conventions: a driver prints "ok - ..." / "FAIL - ..." per check, and ends
# with `finish`, which exits 0 when every check passed and 1 otherwise.
# `skip REASON` exits with SKIP_CODE (77, the tests' SKIP_RETURN_CODE in
# CTest) after saying why: the test could not run here, it did not pass.
# No fixed sleeps: waits are bounded polling loops (poll_until).

SKIP_CODE=77
n_ok=0
n_fail=0
T0=$SECONDS

say() { echo "[$((SECONDS - T0))s] $*"; }
skip() { echo "SKIP: $*"; exit "$SKIP_CODE"; }
ok() { n_ok=$((n_ok + 1)); say "ok - $*"; }
bad() { n_fail=$((n_fail + 1)); say "FAIL - $*"; }
check() {  # check DESCRIPTION COMMAND...: ok if the command succeeds
    local what="$1"; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
    say "$n_ok passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
    exit $?
}

# poll_until TIMEOUT_S INTERVAL_S COMMAND...: run COMMAND until it succeeds
# or TIMEOUT_S seconds have passed; returns COMMAND's last status.
poll_until() {
    local limit="$1" step="$2" end
    shift 2
    end=$(awk -v a="$EPOCHREALTIME" -v t="$limit" 'BEGIN { printf "%.3f", a + t }')
    while :; do
        "$@" && return 0
        awk -v a="$EPOCHREALTIME" -v e="$end" 'BEGIN { exit !(a >= e) }' && break
        sleep "$step"
    done
    "$@"
}

# elapsed_since T: seconds (3 decimals) since $EPOCHREALTIME was T.
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# proc_alive PID: the process exists and is not a zombie. (`kill -0`
# succeeds on zombies, and orphans may stay <defunct> on this kind of
# machine until PID 1 reaps them.)
proc_alive() {
    local st
    st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# in_our_tree PID: PID is this test shell or one of its descendants.
in_our_tree() {
    local pid=$1 _i
    for _i in $(seq 64); do
        [ "$pid" = "$$" ] && return 0
        [ -n "$pid" ] && [ "$pid" -gt 1 ] || return 1
        pid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null)
    done
    return 1
}

# pids_with_env VAR=VALUE: live pids whose environment has that entry,
# except this test's own shells and commands.
pids_with_env() {
    local p pid
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qxF "$1" || continue
        proc_alive "$pid" || continue
        in_our_tree "$pid" || echo "$pid"
    done
    return 0
}

# require_cluster_env: root, /proc, the optional packages (installed now
# through scripts/setup-cluster unless MF_CLUSTER_NO_INSTALL=1). Skips
# with the reason otherwise.
require_cluster_env() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (slurmd and network namespaces need it); run the cluster tests as root"
    [ -r /proc/self/stat ] && [ -r /proc/self/environ ] \
        || skip "no usable /proc (needed to watch and clean up processes)"
    local rc=0
    if [ "${MF_CLUSTER_NO_INSTALL:-0}" = 1 ]; then
        "$ROOT/scripts/setup-cluster" --check || rc=$?
    else
        "$ROOT/scripts/setup-cluster" || rc=$?
    fi
    case "$rc" in
        0) ;;
        3) skip "the packages of the cluster tests are missing and could not be installed (scripts/setup-cluster said why, above)" ;;
        *) bad "scripts/setup-cluster failed (exit $rc)"; finish ;;
    esac
}

# take_lock: one cluster test at a time on this machine (they share ports,
# CPUs and, for the namespace test, names). Waits up to 15 min.
take_lock() {
    command -v flock >/dev/null || return 0
    exec 9>"${TMPDIR:-/tmp}/mpifutures-cluster-tests.lock"
    if ! flock -n 9; then
        say "another cluster test is running; waiting for it (up to 15 min)"
        flock -w 900 9 || skip "another cluster test held the lock for 15 minutes"
    fi
}
