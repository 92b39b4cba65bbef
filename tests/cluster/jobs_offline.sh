#!/usr/bin/env bash
# tests/cluster/jobs_offline.sh — what the job scripts of jobs/ must do
# without any batch system (no root, no Slurm needed):
#   * run outside Slurm, every .sbatch says so and exits 2 (not "unbound
#     variable");
#   * merge-summaries refuses missing, repeated and overlapping slices;
#   * jobs/README.md's examples fit the documented 8-CPU test cluster, its
#     merge example cannot hang (no plain afterok), and it documents the
#     journal and exit status 5.
#
#   jobs_offline.sh ROOT
#
# Exit 0 pass, 1 fail.
set -u
ROOT=$1
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mf-jobs-offline.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

# ---- outside Slurm --------------------------------------------------------
for f in factorial template array; do
    out=$(env -u SLURM_JOB_ID -u SLURM_ARRAY_TASK_ID MF_FACTORIAL=/bin/false MF_PROGRAM=/bin/false \
              bash "$ROOT/jobs/slurm/$f.sbatch" 2>&1); rc=$?
    if [ "$rc" = 2 ] && [[ "$out" == *"not inside a Slurm job"*"sbatch"* ]] && [[ "$out" != *unbound* ]]; then
        ok "$f.sbatch outside Slurm: exit 2, '$out'"
    else
        bad "$f.sbatch outside Slurm: rc=$rc: $out"
    fi
done

# ---- merge-summaries: slices must cover the input exactly once -----------
M="$ROOT/jobs/slurm/merge-summaries"
part() {  # part FILE INDEX SLICES COUNT CHECKSUM
    printf 'job: slice %s of %s\nslice: index=%s slices=%s integers=%s input=n.txt\nsummary: count=%s digits=%s checksum=%s seconds=0.%s00\n' \
        "$2" "$3" "$2" "$3" "$4" "$4" "$((10 * $4))" "$5" "$2" >"$1"
}
for k in 0 1 2 3; do part "a_$k.out" "$k" 4 2 $((k + 5)); done
part r_1.out 1 4 2 6          # a rerun of slice 1
part whole.out 0 1 8 26       # the whole input as "slice 0 of 1"
printf 'summary: count=2 digits=20 checksum=6 seconds=0.1\n' >plain.out
merge() {  # merge WANT_RC PATTERN FILES...: ok if the status and output match
    local want=$1 pat=$2 out rc=0; shift 2
    out=$("$M" "$@" 2>&1) || rc=$?
    if [ "$rc" = "$want" ] && [[ "$out" == *$pat* ]]; then
        ok "merge-summaries $*: exit $rc: $out"
    else
        bad "merge-summaries $*: exit $rc (want $want, /$pat/): $out"
    fi
}
merge 0 "summary: count=8 digits=80 checksum=26 seconds=0.300 parts=4" a_0.out a_1.out a_2.out a_3.out
merge 0 "count=8 " a_0.out r_1.out a_2.out a_3.out
merge 1 "missing slices (of 0..3): 3" a_0.out a_1.out a_2.out
merge 1 "slice 1 of 4 is in both a_1.out and r_1.out" a_0.out a_1.out a_2.out a_3.out r_1.out
merge 1 "parts of different splits overlap" a_0.out a_2.out a_3.out whole.out
merge 1 "given twice" a_0.out a_1.out a_2.out a_3.out ./a_0.out
merge 1 "only 4 of 5 files say which slice" a_0.out a_1.out a_2.out a_3.out plain.out

# ---- jobs/README.md --------------------------------------------------------
R="$ROOT/jobs/README.md"
# (Example lines start with the command; `sbatch -n 9` in the description
# of the tests, where it must be rejected, does not.)
over=$(grep -E '^(sbatch|qsub|MF_[A-Z]+=.* sbatch) .*(-n ?|--ntasks=)(9|[1-9][0-9]+)( |$)' "$R")
check "jobs/README.md: no example asks for more than the test cluster's 8 CPUs (${over:-none})" \
    test -z "$over"
check "jobs/README.md: no merge example with a plain afterok (it stays PENDING when an element fails)" \
    bash -c "! grep -E 'dependency=afterok' '$R' | grep -v -- '--kill-on-invalid-dep=yes' | grep -q ."
check "jobs/README.md: documents the resume journal (MF_JOURNAL)" grep -q 'MF_JOURNAL' "$R"
check "jobs/README.md: lists exit status 5 (interrupted)" grep -qzE '5 when[[:space:]]+it was interrupted' "$R"
check "array.sbatch's own usage: no plain afterok" \
    bash -c "! grep -E 'dependency=afterok' '$ROOT/jobs/slurm/array.sbatch' | grep -v -- '--kill-on-invalid-dep=yes' | grep -q ."

finish
