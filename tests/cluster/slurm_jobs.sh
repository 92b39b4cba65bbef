#!/usr/bin/env bash
# tests/cluster/slurm_jobs.sh — the job scripts of jobs/ against a real
# single-node Slurm (Debian's slurm-wlm + munge, started as root without
# systemd by scripts/slurm-up with 8 CPUs declared), and the PBS script
# through Slurm's PBS layer (slurm-wlm-torque).
#
#   slurm_jobs.sh ROOT MF_FACTORIAL FACT_EXPECT
#
# Checks, for each job: the state and exit code from `scontrol show job`,
# and the summary line against values known independently (the table of
# ../shared/reference/perf-baseline.md §3, and fact_expect, an oracle that
# shares no code with mf-factorial). Also: a failed run ends FAILED with
# the program's exit code, never COMPLETED 0:0; a job asking for more
# ranks than the node has is rejected at submit; everything started is
# stopped. Exit 0 pass, 1 fail, 77 skip (not root, packages missing...).
set -u
ROOT=$1 FACT=$2 EXPECT=$3
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"
# shellcheck source=slurm_lib.sh
. "$ROOT/tests/cluster/slurm_lib.sh"

[ -x "$FACT" ] || skip "mf-factorial not built (needs GMP): $FACT"
require_cluster_env
take_lock

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mf-slurm-jobs.XXXXXX")
cleanup() {  # idempotent
    slurm_stop
    [ -d "$WORK" ] || return 0
    if [ "$n_fail" -eq 0 ]; then rm -rf "$WORK"; else say "job outputs kept in $WORK"; fi
    WORK=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

slurm_start 8
cd "$WORK" || exit 1
export MF_FACTORIAL="$FACT"
# What the scripts must choose for this build's MPI.
if ldd "$FACT" | grep -q libmpich; then
    SRUN_RE="srun --mpi=pmi2" MPIRUN_RE="mpiexec(\\.mpich)? -n 5" PBS_RE="mpiexec(\\.mpich)? -n 4 -f "
else
    SRUN_RE="srun --mpi=pmix" MPIRUN_RE="mpirun(\\.openmpi)? -n 5" PBS_RE="mpirun(\\.openmpi)? -np 4 --hostfile "
fi
unset MF_LAUNCHER MF_SIGNALS MF_GRACE_SECONDS

# Known answers (perf-baseline.md §3, computed there by an independent checker).
SEED_SUM="count=2064 digits=114238284 checksum=732216442968277340"
LIGHT_SUM="count=2000 digits=76713219 checksum=1939912400977522909"

# The light set written by awk, not by mf-factorial's --range.
awk 'BEGIN { for (i = 0; i < 2000; i++) print 1000 + int(i * 19000 / 1999) }' >numbers.txt
mapfile -t light <numbers.txt
[ "$("$EXPECT" "${light[@]}")" = "summary: $LIGHT_SUM" ] \
    && ok "fact_expect agrees with perf-baseline on the light set" \
    || bad "fact_expect disagrees with perf-baseline on the light set"

has_line() { grep -qE "$2" "$1" 2>/dev/null; }
summary_of() { grep '^summary: ' "$1" 2>/dev/null | tail -n 1 | sed 's/ seconds=.*//; s/^summary: //'; }
show_out() { say "---- $1:"; sed 's/^/    /' "$1" 2>/dev/null | tail -n 25; }

# expect_job ID NAME STATE EXIT OUTFILE: state/exit code of a finished job.
expect_job() {
    local id=$1 name=$2 want_state=$3 want_exit=$4 out=$5 st
    if ! job_wait "$id" 180; then bad "$name: job $id did not finish in 180 s"; show_out "$out"; return 1; fi
    st=$(job_states "$id")
    if [ "$st" = "- $want_state $want_exit" ]; then
        ok "$name: job $id $want_state $want_exit"
    else
        bad "$name: job $id ended '$st', want '$want_state $want_exit'"
        show_out "$out"
        return 1
    fi
}

t=$EPOCHREALTIME
# ---- 1. factorial.sbatch, launcher chosen automatically (srun --mpi=pmix) --
j1=$(sbatch --parsable --chdir="$WORK" "$ROOT/jobs/slurm/factorial.sbatch")
# ---- 2. factorial.sbatch with mpirun, 5 ranks, work given as arguments --
j2=$(MF_LAUNCHER=mpirun sbatch --parsable -n 5 --chdir="$WORK" \
         "$ROOT/jobs/slurm/factorial.sbatch" --quiet --from numbers.txt)
# ---- 3. a failing run (bad argument: mf-factorial exits 2) must FAIL -----
j3=$(sbatch --parsable -n 3 --chdir="$WORK" -o fail-%j.out \
         "$ROOT/jobs/slurm/factorial.sbatch" --range 10:5:x)
# ---- 4. template.sbatch running mf-factorial --huge as "your program" ---
j4=$(MF_PROGRAM="$FACT" sbatch --parsable -n 3 --chdir="$WORK" \
         "$ROOT/jobs/slurm/template.sbatch" --quiet --huge 100000)
[ -n "$j1" ] && [ -n "$j2" ] && [ -n "$j3" ] && [ -n "$j4" ] \
    && ok "submitted jobs $j1 $j2 $j3 $j4" || bad "sbatch failed"

if expect_job "$j1" "factorial.sbatch (auto launcher)" COMPLETED 0:0 "mf-factorial-$j1.out"; then
    check "factorial.sbatch: launched with $SRUN_RE" \
        has_line "mf-factorial-$j1.out" "^job: $j1 .*4 ranks: $SRUN_RE "
    [ "$(summary_of "mf-factorial-$j1.out")" = "$SEED_SUM" ] \
        && ok "factorial.sbatch: summary is the seed workload's ($SEED_SUM)" \
        || { bad "factorial.sbatch: summary '$(summary_of "mf-factorial-$j1.out")' != '$SEED_SUM'"; show_out "mf-factorial-$j1.out"; }
fi
if expect_job "$j2" "factorial.sbatch (mpirun, 5 ranks, --from)" COMPLETED 0:0 "mf-factorial-$j2.out"; then
    check "factorial.sbatch: $MPIRUN_RE from the allocation" \
        has_line "mf-factorial-$j2.out" "^job: $j2 .*5 ranks: .*$MPIRUN_RE "
    [ "$(summary_of "mf-factorial-$j2.out")" = "$LIGHT_SUM" ] \
        && ok "factorial.sbatch (mpirun): summary of numbers.txt = light set" \
        || { bad "factorial.sbatch (mpirun): summary '$(summary_of "mf-factorial-$j2.out")'"; show_out "mf-factorial-$j2.out"; }
fi
expect_job "$j3" "failing run" FAILED 2:0 "fail-$j3.out" \
    && check "failing run: mf-factorial's error is in the output" \
        has_line "fail-$j3.out" "mf-factorial: .*(range|COUNT|integer|number)"
if expect_job "$j4" "template.sbatch (--huge 100000)" COMPLETED 0:0 "mf-job-$j4.out"; then
    want=$("$EXPECT" huge:100000 | grep '^huge:')
    got=$(grep '^huge: ' "mf-job-$j4.out" | sed 's/ seconds=.*//')
    [ -n "$want" ] && [ "$got" = "$want" ] \
        && ok "template.sbatch: $got (= fact_expect)" \
        || { bad "template.sbatch: '$got' != fact_expect '$want'"; show_out "mf-job-$j4.out"; }
fi
say "single jobs done in $(elapsed_since "$t") s"

# ---- 5. array.sbatch over numbers.txt + a merge job after it ------------
# The merge is submitted as jobs/README.md says: afterany, so that a failed
# element makes the merge fail instead of leaving it PENDING forever.
t=$EPOCHREALTIME
merge_after() {  # merge_after DEPENDENCY FILES-GLOB [sbatch options]: the merge job's id
    local dep=$1 glob=$2; shift 2
    sbatch --parsable --chdir="$WORK" -n 1 -o merge-%j.out --dependency="$dep" "$@" \
        --wrap "'$ROOT/jobs/slurm/merge-summaries' $glob"
}
ja=$(sbatch --parsable --chdir="$WORK" "$ROOT/jobs/slurm/array.sbatch" numbers.txt)
jm=$(merge_after "afterany:$ja" "mf-array-${ja}_*.out")
# A stepped range: indices 0, 2, 4 are not the slices 0..2 of 3; every
# element must refuse at once (before: slices 0, 2, 4 "of 3", a third of
# the input lost and a merge of count=804 with status 0).
js=$(sbatch --parsable --chdir="$WORK" --array=0-4:2 "$ROOT/jobs/slurm/array.sbatch" numbers.txt)
jsm=$(merge_after "afterany:$js" "mf-array-${js}_*.out")
# One element fails (slice 1 holds a line that is not an integer).
awk 'NR == 2 { print "oops"; next } { print }' numbers.txt >bad.txt
jb=$(sbatch --parsable --chdir="$WORK" "$ROOT/jobs/slurm/array.sbatch" bad.txt)
jbm=$(merge_after "afterany:$jb" "mf-array-${jb}_*.out")
jbk=$(merge_after "afterok:$jb" "mf-array-${jb}_*.out" --kill-on-invalid-dep=yes)
jbp=$(merge_after "afterok:$jb" "mf-array-${jb}_*.out")
if job_wait "$ja" 240 && job_wait "$jm" 60; then
    states=$(job_states "$ja" | tr '\n' ';')
    check "array.sbatch: 4 elements COMPLETED 0:0 ($states)" \
        test "$states" = "0 COMPLETED 0:0;1 COMPLETED 0:0;2 COMPLETED 0:0;3 COMPLETED 0:0;"
    check "array job: merge job (afterany) COMPLETED 0:0" \
        test "$(job_states "$jm")" = "- COMPLETED 0:0"
    got=$(summary_of "merge-$jm.out")
    if [ "$got" = "$LIGHT_SUM" ]; then
        ok "array.sbatch + merge-summaries: $got (= light set in one run)"
    else
        bad "merged summary '$got' != '$LIGHT_SUM'"; show_out "merge-$jm.out"
    fi
    # Slices are disjoint and cover the input.
    check "array.sbatch: the 4 slices partition the input" \
        test "$(cat mf-slice-"${ja}"_*.txt | sort -n | md5sum)" = "$(sort -n numbers.txt | md5sum)"
    # A missing element must not pass unnoticed.
    check "merge-summaries --expect 5 fails with 4 parts" \
        bash -c "! '$ROOT/jobs/slurm/merge-summaries' --expect 5 mf-array-${ja}_*.out 2>/dev/null"
    check "merge-summaries fails without slice 2 (it knows there are 4)" \
        bash -c "! '$ROOT/jobs/slurm/merge-summaries' mf-array-${ja}_[013].out 2>/dev/null"
else
    bad "array job $ja / merge job $jm did not finish"
fi
if job_wait "$js" 120 && job_wait "$jsm" 60; then
    states=$(job_states "$js" | tr '\n' ';')
    check "stepped array 0-4:2: every element refused, FAILED 2:0 ($states)" \
        test "$states" = "0 FAILED 2:0;2 FAILED 2:0;4 FAILED 2:0;"
    check "stepped array: the refusal says why and names MF_SLICES" \
        has_line "mf-array-${js}_4.out" "^job: array indices 0\.\.4 .*MF_SLICES"
    check "stepped array: no element computed anything (no summary line)" \
        bash -c "! grep -q '^summary: ' mf-array-${js}_*.out"
    check "stepped array: the merge FAILED (never COMPLETED with part of the input)" \
        test "$(job_states "$jsm")" = "- FAILED 1:0"
else
    bad "stepped array $js / merge $jsm did not finish"
fi
if job_wait "$jb" 240; then
    states=$(job_states "$jb" | tr '\n' ';')
    check "array with a bad line in slice 1: element 1 FAILED 2:0, the others COMPLETED ($states)" \
        test "$states" = "0 COMPLETED 0:0;1 FAILED 2:0;2 COMPLETED 0:0;3 COMPLETED 0:0;"
    # Bounded: the merge jobs must leave the queue, not stay PENDING.
    if job_wait "$jbm" 60; then
        check "failed element: the afterany merge ran and FAILED 1:0" \
            test "$(job_states "$jbm")" = "- FAILED 1:0"
        check "failed element: the merge names the element without a summary" \
            has_line "merge-$jbm.out" "merge-summaries: mf-array-${jb}_1\.out has 0 summary lines"
    else
        bad "failed element: the afterany merge $jbm did not end within 60 s"
    fi
    if poll_until 60 0.2 job_gone "$jbk"; then
        check "failed element: afterok + --kill-on-invalid-dep=yes merge was CANCELLED" \
            bash -c "[[ '$(job_states "$jbk")' == '- CANCELLED '* ]]"
    else
        bad "failed element: afterok + --kill-on-invalid-dep=yes merge $jbk still queued after 60 s"
        scancel "$jbk" 2>/dev/null
    fi
    # What the old README did: afterok alone never runs and never ends.
    dep_never() { [ "$(job_field "$jbp" Reason)" = DependencyNeverSatisfied ]; }
    check "failed element: a plain afterok merge is stuck (PENDING, DependencyNeverSatisfied): why the README says afterany" \
        poll_until 60 0.2 dep_never
    scancel "$jbp" 2>/dev/null
    job_wait "$jbp" 30 >/dev/null || true

    # Rerun the failed element once the input is fixed: slice 1 of 4 only.
    cp numbers.txt bad.txt
    jr0=$(sbatch --parsable --chdir="$WORK" --array=1 "$ROOT/jobs/slurm/array.sbatch" bad.txt)
    jr=$(MF_SLICES=4 sbatch --parsable --chdir="$WORK" --array=1 "$ROOT/jobs/slurm/array.sbatch" bad.txt)
    if job_wait "$jr0" 60 && job_wait "$jr" 120; then
        check "rerun without MF_SLICES (--array=1): refused, FAILED 2:0 (not the whole input)" \
            test "$(job_states "$jr0")" = "1 FAILED 2:0"
        check "rerun without MF_SLICES: the message says how (MF_SLICES=4 sbatch --array=1)" \
            has_line "mf-array-${jr0}_1.out" "MF_SLICES=K"
        check "rerun MF_SLICES=4 --array=1: COMPLETED 0:0" \
            test "$(job_states "$jr")" = "1 COMPLETED 0:0"
        check "rerun computed slice 1 of 4 only (500 integers)" \
            has_line "mf-array-${jr}_1.out" "^summary: count=500 "
        got=$("$ROOT/jobs/slurm/merge-summaries" mf-array-"${jb}"_[023].out "mf-array-${jr}_1.out" 2>&1 | sed -n 's/ seconds=.*//; s/^summary: //p')
        if [ "$got" = "$LIGHT_SUM" ]; then
            ok "original elements 0,2,3 + rerun of 1 merge to the whole input: $got"
        else
            bad "merge of elements 0,2,3 + rerun 1: '$got' != '$LIGHT_SUM'"
        fi
        out=$("$ROOT/jobs/slurm/merge-summaries" mf-array-"${ja}"_*.out "mf-array-${jr}_1.out" 2>&1); rc=$?
        if [ "$rc" = 1 ] && [[ "$out" == *"slice 1 of 4 is in both"* ]]; then
            ok "merge detects the overlap of a rerun slice with a complete array: $out"
        else
            bad "merge of a complete array + a rerun slice: rc=$rc: $out"
        fi
    else
        bad "rerun jobs $jr0 / $jr did not finish"
    fi
else
    bad "array job $jb with a failing element did not finish"
fi
say "arrays done in $(elapsed_since "$t") s"

# ---- 6. PBS: the directive mapping, then the script under qsub ----------
t=$EPOCHREALTIME
line=$(qsub --sbatchline -l nodes=1:ppn=4,walltime=0:10:00 -N x "$ROOT/jobs/pbs/factorial.pbs" 2>&1)
maps_ok() { [[ " $line " == *" -N1 "* && " $line " == *" -n4 "* && " $line " == *" -t10 "* && " $line " == *" -J x "* ]]; }
check "qsub maps -l nodes=1:ppn=4,walltime=0:10:00 -N x to sbatch -N1 -n4 -t10 -J x ($line)" maps_ok
jp=$(qsub "$ROOT/jobs/pbs/factorial.pbs" 2>&1 | tail -n 1)
if [[ "$jp" =~ ^[0-9]+$ ]]; then
    ok "qsub factorial.pbs: job $jp"
    if expect_job "$jp" "factorial.pbs under qsub" COMPLETED 0:0 "factorial.pbs.e$jp"; then
        check "factorial.pbs: #PBS lines parsed (name, 4 tasks, 10 min)" \
            test "$(job_field "$jp" JobName) $(job_field "$jp" NumTasks) $(job_field "$jp" TimeLimit)" = "mf-factorial 4 00:10:00"
        check "factorial.pbs: 4 ranks from the node file" \
            has_line "factorial.pbs.e$jp" "^job: .*$PBS_RE"
        [ "$(summary_of "factorial.pbs.o$jp")" = "$SEED_SUM" ] \
            && ok "factorial.pbs: summary is the seed workload's" \
            || { bad "factorial.pbs: summary '$(summary_of "factorial.pbs.o$jp")'"; show_out "factorial.pbs.o$jp"; show_out "factorial.pbs.e$jp"; }
    fi
else
    bad "qsub factorial.pbs failed: $jp"
fi
say "PBS done in $(elapsed_since "$t") s"

# ---- 7. more ranks than the node has: rejected at once, nothing queued --
before=$(squeue -h -o %i | wc -l)
t=$EPOCHREALTIME
out=$(sbatch --parsable -n 9 "$ROOT/jobs/slurm/factorial.sbatch" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [[ "$out" == *"More processors requested than permitted"* ]]; then
    ok "sbatch -n 9 on 8 CPUs rejected in $(elapsed_since "$t") s: $out"
else
    bad "sbatch -n 9 was not rejected (rc=$rc): $out"
    [[ "$out" =~ ^[0-9]+$ ]] && scancel "$out"
fi
out=$(qsub -l nodes=1:ppn=9 "$ROOT/jobs/pbs/factorial.pbs" 2>&1); rc=$?
if [ "$rc" -ne 0 ] && [[ "$out" == *"More processors requested than permitted"* ]]; then
    ok "qsub -l nodes=1:ppn=9 rejected: $(grep -m1 'More processors' <<<"$out")"
else
    bad "qsub -l nodes=1:ppn=9 was not rejected (rc=$rc): $out"
fi
check "nothing was left pending" test "$(squeue -h -o %i | wc -l)" -eq "$before"

# ---- 8. the launch code is the same in every Slurm script ---------------
check "the launch block of factorial/template/array.sbatch is identical" \
    bash -c "[ \"\$(cd '$ROOT/jobs/slurm' && for f in factorial template array; do sed -n '/^# ---- launch: nothing to edit below/,/^mf_launch \"/p' \$f.sbatch | sed '\$d' | md5sum; done | sort -u | wc -l)\" = 1 ]"

cleanup
trap - EXIT
finish
