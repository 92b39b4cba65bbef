#!/usr/bin/env bash
# tests/run/slurm_run.sh — jobs/slurm/run.sbatch and jobs/pbs/run.pbs under
# a real single-node Slurm (started by scripts/slurm-up through the
# helpers of tests/cluster), with mf-run:
#  1. run.sbatch with a 1-minute limit and `--signal=B:USR1@55` on work
#     that needs longer: the job ends FAILED 5:0 before its limit, says
#     how many tasks finished, and its job log has that many ok records;
#  2. the same script submitted again: COMPLETED 0:0, every task ok once
#     in the log, and no task that had succeeded ran again;
#  3. run.pbs through qsub (Slurm's PBS layer): COMPLETED 0:0, all ok.
#
#   slurm_run.sh ROOT MF_RUN
#
# Exit 0 pass, 1 fail, 77 skip (not root, packages missing...).
# `A && ok || bad` is meant (ok never fails); cleanup runs from the trap.
# shellcheck disable=SC2015,SC2317
set -u
ROOT=$1 MFRUN=$2
# shellcheck source=../cluster/lib.sh
. "$ROOT/tests/cluster/lib.sh"
# shellcheck source=../cluster/slurm_lib.sh
. "$ROOT/tests/cluster/slurm_lib.sh"

[ -x "$MFRUN" ] || skip "mf-run not built: $MFRUN"
require_cluster_env
take_lock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mf-slurm-run.XXXXXX")
cleanup() { # idempotent
    slurm_stop
    [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
    if [ "$n_fail" -eq 0 ]; then rm -rf "$WORK"; else say "job outputs kept in $WORK"; fi
    WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

slurm_start 8
cd "$WORK" || exit 1
export MF_RUN="$MFRUN" MF_RUN_GRACE=3
unset MF_LAUNCHER MF_RUN_JOBLOG MF_RUN_SLOTS

# 160 tasks of 1 s on 2 workers: 80 s, more than the 1-minute limit.
for i in $(seq 160); do echo "echo $i >> ran.txt; sleep 1"; done >tasks.txt
okcount() { awk -F'\t' 'NR > 1 && $10 == "ok"' "$1" | wc -l; }

j1=$(sbatch --parsable -n 3 --time=1 --signal=B:USR1@55 -o "run1-%j.out" \
         "$ROOT/jobs/slurm/run.sbatch" tasks.txt)
say "submitted $j1: 160 x 1 s, 1-minute limit, SIGUSR1 55 s before it"
if job_wait "$j1" 150; then
    st=$(job_states "$j1")
    [ "$st" = "- FAILED 5:0" ] && ok "walltime stop: $st" || bad "walltime stop: state '$st', expected FAILED 5:0"
    out="run1-$j1.out"
    fin=$(sed -n 's/^mf-run: interrupted by SIGUSR1: \([0-9]*\) of 160 tasks finished.*/\1/p' "$out")
    if [ -n "$fin" ] && [ "$fin" -gt 0 ] && [ "$fin" -lt 160 ]; then
        ok "mf-run said $fin of 160 finished"
    else
        bad "no 'interrupted by SIGUSR1: N of 160 tasks finished' with 0 < N < 160"
        tail -n 20 "$out"
    fi
    [ "$(okcount mf-run.joblog)" = "$fin" ] && ok "job log has $fin ok records" \
        || bad "job log has $(okcount mf-run.joblog) ok records, mf-run said $fin"
else
    bad "job $j1 did not end within 150 s"
fi
before=$(awk -F'\t' 'NR > 1 && $10 == "ok" { print $1 }' mf-run.joblog)

j2=$(sbatch --parsable -n 3 --time=5 -o "run2-%j.out" "$ROOT/jobs/slurm/run.sbatch" tasks.txt)
say "resubmitted as $j2"
if job_wait "$j2" 240; then
    st=$(job_states "$j2")
    [ "$st" = "- COMPLETED 0:0" ] && ok "resumed job: $st" || { bad "resumed job: '$st'"; tail -n 20 "run2-$j2.out"; }
    n=$(awk -F'\t' 'NR > 1 && $10 == "ok" { print $1 }' mf-run.joblog | sort -un | wc -l)
    [ "$n" = 160 ] && ok "all 160 tasks ok in the job log" || bad "$n of 160 tasks ok"
    dup=0
    for id in $before; do
        [ "$(grep -cx "$id" ran.txt)" = 1 ] || dup=$((dup + 1))
    done
    [ "$dup" = 0 ] && ok "no task done before the stop ran again" || bad "$dup tasks done before the stop ran again"
else
    bad "job $j2 did not end within 240 s"
fi

# PBS script through Slurm's PBS layer.
mkdir pbs && cd pbs || exit 1
for i in $(seq 20); do echo "echo pbs$i"; done >tasks.txt
jp=$(qsub -l nodes=1:ppn=3,walltime=00:05:00 -o pbs.out "$ROOT/jobs/pbs/run.pbs" 2>&1 | tail -n 1)
jp=${jp%%.*}
say "submitted PBS job $jp"
if job_wait "$jp" 120; then
    st=$(job_states "$jp")
    [ "$st" = "- COMPLETED 0:0" ] && ok "run.pbs: $st" || { bad "run.pbs: '$st'"; tail -n 20 pbs.out; }
    [ "$(okcount mf-run.joblog)" = 20 ] && ok "run.pbs: 20 tasks ok" || bad "run.pbs: $(okcount mf-run.joblog) of 20 ok"
else
    bad "PBS job $jp did not end within 120 s"
fi
cd .. || exit 1
finish
