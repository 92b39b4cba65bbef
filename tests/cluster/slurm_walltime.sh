#!/usr/bin/env bash
# tests/cluster/slurm_walltime.sh — the walltime path under a real Slurm:
# jobs/slurm/factorial.sbatch with a 1-minute limit and
# `--signal=B:USR1@55`, on work that would take many minutes. Slurm sends
# SIGUSR1 to the batch shell some seconds after the start (its controller
# checks limits periodically), the script's trap forwards it to the
# launcher, the launcher to every rank, and mf-factorial (MF_SIGNALS=1)
# stops dispatching, cancels the queued tasks, lets running ones finish
# within MF_GRACE_SECONDS, says how many finished and exits non-zero.
# Run once with srun --mpi=pmix and once with mpirun, at the same time.
#
#   slurm_walltime.sh ROOT MF_FACTORIAL
#
# Checks: state FAILED with a non-zero exit code (not TIMEOUT: the job
# ended before its limit; not COMPLETED 0:0), ended within the grace
# period (+ margin) after the signal, the trap ran, and mf-factorial's
# message names the interruption and the number of finished tasks.
# Costs about 10-40 s (Slurm's time limits are in minutes). Exit 0 pass,
# 1 fail, 77 skip.
set -u
ROOT=$1 FACT=$2
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"
# shellcheck source=slurm_lib.sh
. "$ROOT/tests/cluster/slurm_lib.sh"

# What mf-factorial must print when interrupted (extended regexps): a
# message that says why, and how many tasks finished.
WHY_RE='^mf-factorial: .*(interrupt|signal|SIGUSR1|SIGTERM)'
COUNT_RE='^mf-factorial: .*[0-9]+ .*(finished|completed|done)|^mf-factorial: .*(finished|completed|done)[^0-9]*[0-9]+'
GRACE=5

[ -x "$FACT" ] || skip "mf-factorial not built (needs GMP): $FACT"
require_cluster_env
take_lock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mf-slurm-walltime.XXXXXX")
cleanup() {  # idempotent
    slurm_stop
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    if [ "$n_fail" -eq 0 ]; then rm -rf "$WORK"; else say "job outputs kept in $WORK"; fi
    WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

slurm_start 8
cd "$WORK" || exit 1
export MF_FACTORIAL="$FACT" MF_SIGNALS=1 MF_GRACE_SECONDS=$GRACE
# 100,000 factorials of 150000..250000 (10-20 ms each): far more than a minute.
WORKLOAD=(--quiet --range 150000:250000:100000 --chunk 1)

ids=()
for l in srun mpirun; do
    id=$(MF_LAUNCHER=$l sbatch --parsable -n 3 --time=1 --signal=B:USR1@55 \
             -o "wall-$l-%j.out" "$ROOT/jobs/slurm/factorial.sbatch" "${WORKLOAD[@]}")
    ids+=("$id")
    say "submitted job $id ($l), time limit 1 min, SIGUSR1 55 s before it"
done
# PBS through Slurm's PBS layer: walltime 1 min from qsub, the warning
# from the script's own `#SBATCH --signal=B:USR1@60` line. (A copy whose
# only change is the work: factorial.pbs takes no arguments.)
sed "s|^ARGS=(.*|ARGS=(${WORKLOAD[*]})|" "$ROOT/jobs/pbs/factorial.pbs" >wall.pbs
jp=$(qsub -l nodes=1:ppn=2,walltime=00:01:00 -o wall-pbs.out -e wall-pbs.err wall.pbs 2>&1 | tail -n 1)
say "submitted PBS job $jp (qsub, walltime 1 min)"

tsec() { date -d "$1" +%s 2>/dev/null; }
i=0
for l in srun mpirun; do
    id=${ids[$i]}
    i=$((i + 1))
    out="wall-$l-$id.out"
    if ! job_wait "$id" 120; then
        bad "$l: job $id did not end within 120 s"
        continue
    fi
    st=$(job_states "$id")
    start=$(tsec "$(job_field "$id" StartTime)")
    end=$(tsec "$(job_field "$id" EndTime)")
    say "$l: job $id: $st, ran $((end - start)) s"
    sed 's/^/    /' "$out" | head -n 30
    read -r _ state code <<<"$st"
    check "$l: job ended FAILED (not TIMEOUT, not COMPLETED): $state" test "$state" = FAILED
    check "$l: non-zero exit code ($code)" test "${code%%:*}" != 0
    check "$l: ended before the 60 s limit ($((end - start)) s)" test $((end - start)) -lt 60
    sig=$(sed -n 's/^job: got SIGUSR1 at \([0-9][0-9]:[0-9][0-9]:[0-9][0-9]\).*/\1/p' "$out" | head -n 1)
    if [ -n "$sig" ]; then
        ok "$l: the batch shell got SIGUSR1 at $sig and forwarded it"
        sigt=$(tsec "$(date -d "@$start" +%F) $sig")
        # +1: the clock of EndTime and of the trap's `date` tick in seconds.
        check "$l: ended within the grace period of $GRACE s + 10 s after the signal ($((end - sigt)) s)" \
            test $((end - sigt)) -le $((GRACE + 10 + 1))
    else
        bad "$l: no 'job: got SIGUSR1' line: the signal never reached the batch shell"
    fi
    if grep -qE "$WHY_RE" "$out"; then
        ok "$l: mf-factorial says why: $(grep -m1 -E "$WHY_RE" "$out")"
    else
        bad "$l: mf-factorial printed no line matching /$WHY_RE/ (signal handling missing in mf-factorial?)"
    fi
    if grep -qE "$COUNT_RE" "$out"; then
        ok "$l: mf-factorial says how many tasks finished: $(grep -m1 -E "$COUNT_RE" "$out")"
    else
        bad "$l: mf-factorial printed no count of finished tasks (/$COUNT_RE/)"
    fi
    check "$l: no summary line claims a complete run" bash -c "! grep -q '^summary: count=100000 ' '$WORK/$out'"
done

if [[ "$jp" =~ ^[0-9]+$ ]] && job_wait "$jp" 150; then
    st=$(job_states "$jp")
    start=$(tsec "$(job_field "$jp" StartTime)")
    end=$(tsec "$(job_field "$jp" EndTime)")
    say "pbs: job $jp: $st, ran $((end - start)) s"
    sed 's/^/    /' wall-pbs.err wall-pbs.out | tail -n 20
    check "pbs: walltime ended FAILED 5:0 (mf-factorial interrupted cleanly), not TIMEOUT: '$st'" \
        test "$st" = "- FAILED 5:0"
    check "pbs: ended before the 60 s limit ($((end - start)) s)" test $((end - start)) -lt 60
    check "pbs: the batch shell got SIGUSR1 and forwarded it to mpirun" \
        grep -q '^job: got SIGUSR1 at' wall-pbs.err
    check "pbs: mf-factorial says it was interrupted" grep -qE "$WHY_RE" wall-pbs.err wall-pbs.out
else
    bad "pbs: job '$jp' did not end within 150 s"
fi

cleanup
trap - EXIT
finish
