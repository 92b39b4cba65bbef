# tests/cluster/slurm_lib.sh — a private single-node Slurm for a test
# shellcheck shell=bash
# (sourced after lib.sh; needs $ROOT).

SLURM_DIR=
slurm_start() {  # slurm_start CPUS: start it, export SLURM_CONF; skip if impossible
    local cpus="$1" out rc=0
    # A system Slurm or another copy on our ports would make results lie.
    SLURM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mf-slurm-test.XXXXXX")
    out=$("$ROOT/scripts/slurm-up" --cpus "$cpus" --dir "$SLURM_DIR" 2>"$SLURM_DIR.up.log") || rc=$?
    cat "$SLURM_DIR.up.log"
    rm -f "$SLURM_DIR.up.log"
    if [ "$rc" = 3 ]; then
        rm -rf "$SLURM_DIR"; SLURM_DIR=
        skip "Slurm cannot run here (see the slurm-up message above)"
    fi
    [ "$rc" = 0 ] || { bad "slurm-up failed (exit $rc)"; rm -rf "$SLURM_DIR"; SLURM_DIR=; finish; }
    eval "$out"
    export SLURM_CONF
    ok "Slurm up: $SLURM_CONF ($cpus CPUs)"
}

slurm_stop() {
    [ -n "$SLURM_DIR" ] || return 0
    local conf="$SLURM_DIR/slurm.conf" left
    if "$ROOT/scripts/slurm-down" --dir "$SLURM_DIR"; then
        ok "Slurm stopped (slurmd, slurmctld, munged)"
    else
        bad "slurm-down could not stop everything in $SLURM_DIR"
    fi
    # Nothing that ran under this cluster may survive it.
    # (Processes may need a moment to exit after their daemon is gone.)
    no_cluster_procs() { [ -z "$(pids_with_env "SLURM_CONF=$conf")" ]; }
    poll_until 10 0.2 no_cluster_procs
    left=$(pids_with_env "SLURM_CONF=$conf" | tr '\n' ' ')
    if [ -n "${left// /}" ]; then
        bad "processes of the test cluster still alive: $left"
        # shellcheck disable=SC2086
        ps -o pid,stat,args -p ${left// /,} 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
    else
        ok "no process of the test cluster is left"
    fi
    if [ "$n_fail" -eq 0 ]; then rm -rf "$SLURM_DIR"; else say "kept $SLURM_DIR (logs)"; fi
    SLURM_DIR=
}

job_gone() { [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; }

# job_wait ID TIMEOUT_S: poll until the job (or every element of an array)
# has left the queue; on timeout cancel it and return 1.
job_wait() {
    if poll_until "$2" 0.2 job_gone "$1"; then return 0; fi
    say "job $1 still queued/running after $2 s: cancelling it"
    squeue -j "$1" 2>/dev/null || true
    scancel "$1" 2>/dev/null || true
    poll_until 15 0.2 job_gone "$1" || true
    return 1
}

# job_states ID: "JobState ExitCode" per job (one line per array element,
# prefixed by the task id for arrays), from `scontrol show job`.
job_states() {
    scontrol -o show job "$1" 2>/dev/null | awk '{
        st = ""; ex = ""; tid = "-"
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^JobState=/) st = substr($i, 10)
            else if ($i ~ /^ExitCode=/) ex = substr($i, 10)
            else if ($i ~ /^ArrayTaskId=/) tid = substr($i, 13)
        }
        print tid, st, ex }' | sort
}
job_field() {  # job_field ID FIELD: one field of `scontrol -o show job ID` (first line)
    scontrol -o show job "$1" 2>/dev/null | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
