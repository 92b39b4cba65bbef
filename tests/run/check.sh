#!/usr/bin/env bash
# check.sh — tests of mf-run (issue 14), one scenario per CTest test.
#
#   check.sh SCENARIO MF_RUN MPIEXEC [MPIEXEC_FLAGS...]
#
# Each scenario runs mf-run under the MPI launcher (MPIEXEC -n N FLAGS
# MF_RUN ...) in a fresh temporary directory and checks its output, exit
# status and job log. Exit 0 if every check holds, else 1 with the reason
# and the run's output.
# Commands are given in single quotes on purpose (the shell on the worker
# expands them), and `A && B || fail` is meant: fail exits.
# shellcheck disable=SC2016,SC2015
set -u
scenario=${1:?scenario}
MFRUN=${2:?mf-run}
shift 2
launcher=("$@")
[ ${#launcher[@]} -gt 0 ] || { echo "check.sh: no launcher" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2

fail() {
    echo "FAIL ($scenario): $*"
    for f in out err; do
        [ -f "$tmp/$f" ] || continue
        echo "---- $f (last 30 lines):"
        tail -n 30 "$tmp/$f"
    done
    [ -f "$tmp/jl" ] && { echo "---- joblog (last 20 lines):"; tail -n 20 "$tmp/jl"; }
    exit 1
}
# mfr NP ARGS...: run mf-run on NP ranks; stdout in out, stderr in err.
mfr() {
    local np=$1
    shift
    "${launcher[0]}" -n "$np" "${launcher[@]:1}" "$MFRUN" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1 ($2)"; }
# expect_interrupted SIG N: mf-run said it was interrupted by SIG with a
# count of its N tasks that the job log confirms, and the count proves
# something (some tasks ran, not all).
expect_interrupted() {
    local fin
    grep -q "interrupted by $1: [0-9]* of $2 tasks finished" err || fail "no 'interrupted by $1' count"
    fin=$(sed -n "s/.*interrupted by $1: \([0-9]*\) of $2.*/\1/p" err)
    [ "$fin" = "$(status_count ok)" ] || fail "said $fin finished, log has $(status_count ok) ok"
    [ "$fin" -gt 0 ] && [ "$fin" -lt "$2" ] || fail "finished $fin of $2: the test proves nothing"
}
# expect_once: no task of the job log succeeded twice (a resume reran
# nothing that had succeeded).
expect_once() {
    local dup
    dup=$(awk -F'\t' 'NR > 1 && $10 == "ok" { print $1 }' "$tmp/jl" | sort | uniq -d | wc -l)
    [ "$dup" = 0 ] || fail "$dup tasks succeeded twice"
}
# wait_lines FILE N SECONDS: until FILE has at least N lines (a bounded
# wait on the tasks' own record, never a guess at how long start-up
# takes); fails the test when SECONDS pass first.
wait_lines() {
    local _
    for _ in $(seq $(($3 * 10))); do
        [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "$1 did not reach $2 lines within $3 s"
}
# gone PATTERN SECONDS WHAT: until no process matches PATTERN (pgrep -f);
# fails with WHAT when SECONDS pass first.
gone() {
    local _
    for _ in $(seq $(($2 * 10))); do
        pgrep -f "$1" >/dev/null || return 0
        sleep 0.1
    done
    fail "$3"
}
# status_count STATUS: records of the job log with that status
status_count() { awk -F'\t' -v s="$1" 'NR > 1 && $10 == s' "$tmp/${2:-jl}" | wc -l; }

case "$scenario" in
values)
    # ::: values, {} and {#}, shell quoting of values, no {} appends.
    mfr 3 --keep-order -- printf "'%s|%s\n'" '{#}' '{}' ::: a 'b c' "it's" '$HOME' '' 'x;y'
    expect_rc 0 "values"
    printf '%s\n' '1|a' '2|b c' "3|it's" '4|$HOME' '5|' '6|x;y' >exp
    diff exp out >/dev/null || fail "substitution/quoting: got $(cat out)"
    mfr 3 --keep-order -- echo pre ::: 'v 1' v2
    expect_rc 0 "append"
    printf '%s\n' 'pre v 1' 'pre v2' >exp
    diff exp out >/dev/null || fail "appending without {}: got $(cat out)"
    # words are joined as they are: shell syntax given as a word works
    mfr 2 -- echo '{}' '>' '{}.txt' ::: f1 f2
    expect_rc 0 "redirect word"
    [ "$(cat f1.txt f2.txt)" = "$(printf 'f1\nf2')" ] || fail "'>' as a word did not redirect"
    printf 'a b\nc\n' >vals
    mfr 3 --keep-order --args vals -- echo '[{}]'
    expect_rc 0 "--args"
    [ "$(cat out)" = "$(printf '[a b]\n[c]')" ] || fail "--args: got $(cat out)"
    ;;
taskfile)
    # comments and blanks skipped; failures, crash, not found; env.
    cat >tasks <<'EOF'
# a comment
echo one

   # an indented comment
echo "$MF_TASK_ID $MF_TASK_ATTEMPT $MF_TASK_SLOT $MF_TASK_HOST" > env.$MF_TASK_ID
exit 3
kill -SEGV $$
no_such_command_mf
pwd > where
[ -z "$MF_TASK_RANK" ] && exit 9; read -r x; [ -z "$x" ]
EOF
    mfr 3 --joblog jl tasks
    expect_rc 3 "three failed tasks"
    [ "$(grep -c . out)" = 1 ] && grep -qx one out || fail "stdout: $(cat out)"
    [ "$(cut -d' ' -f1,2 env.2)" = "2 1" ] || fail "MF_TASK_ID/ATTEMPT: $(cat env.2)"
    [ "$(cut -d' ' -f4 env.2)" = "$(hostname)" ] || fail "MF_TASK_HOST: $(cat env.2)"
    [ "$(cat where)" = "$tmp" ] || fail "cwd: $(cat where), not the submit dir"
    [ "$(status_count ok)" = 4 ] || fail "4 ok records expected"
    awk -F'\t' 'NR > 1 && $1 == 3 && $7 == 3 && $10 == "failed"' jl | grep -q . || fail "exit 3 not recorded"
    awk -F'\t' 'NR > 1 && $1 == 4 && $8 == 11 && $10 == "signal"' jl | grep -q . || fail "SIGSEGV not recorded"
    awk -F'\t' 'NR > 1 && $1 == 5 && $7 == 127 && $10 == "failed"' jl | grep -q . || fail "127 not recorded"
    grep -q 'no_such_command_mf: not found' err || fail "the shell's 'not found' message is missing"
    # stdin as the task file, and --workdir
    mkdir wd
    printf 'pwd\n' | { "${launcher[0]}" -n 2 "${launcher[@]:1}" "$MFRUN" --workdir wd - >out 2>err; }
    rc=$?
    expect_rc 0 "stdin"
    [ "$(cat out)" = "$tmp/wd" ] || fail "--workdir: $(cat out)"
    ;;
lines)
    # 12 tasks x 3000 lines on 3 workers x 2 slots: every task's output
    # arrives whole (contiguous), no line mixed with another.
    mfr 4 --slots 2 -- 'i=0; while [ $i -lt 3000 ]; do echo "task{}-line$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done' ::: $(seq 12)
    expect_rc 0 "lines"
    [ "$(wc -l <out)" = 36000 ] || fail "expected 36000 lines, got $(wc -l <out)"
    grep -Evc '^task[0-9]+-line[0-9]+-x{64}$' out | grep -qx 0 || fail "a mixed line"
    runs=$(sed 's/-line.*//' out | uniq | wc -l)
    [ "$runs" = 12 ] || fail "task outputs interleaved: $runs runs of the same task, expected 12"
    # --tag
    mfr 3 --tag -- 'echo a; echo b >&2; :' ::: x y
    expect_rc 0 "tag"
    [ "$(sort out)" = "$(printf '1\ta\n2\ta')" ] || fail "--tag stdout: $(cat out)"
    grep -qx "$(printf '2\tb')" err || fail "--tag stderr"
    ;;
bigout)
    # one task prints 300 MiB (above the 256 KiB inline limit: spilled),
    # another 100 KiB (inline): bytes arrive intact, and no rank's peak
    # RSS grows past 40 MiB (the same run with tiny output is the base).
    MF_RUN_PEAK_RSS=1 mfr 3 --keep-order -- 'head -c {} /dev/zero | tr "\0" "a"; echo' ::: 314572800 102400 1
    expect_rc 0 "big output"
    [ "$(wc -c <out)" = $((314572800 + 102400 + 1 + 3)) ] || fail "output bytes: $(wc -c <out)"
    max=$(sed -n 's/^mf-run: rank [0-9]* peak RSS \([0-9]*\) KiB$/\1/p' err | sort -n | tail -n 1)
    [ -n "$max" ] || fail "no peak RSS report"
    [ "$max" -lt 40960 ] || fail "peak RSS $max KiB (>= 40 MiB) with a 300 MiB output"
    for d in .mf-run.*; do
        [ -e "$d" ] && fail "spill directory $d left behind"
    done
    # --output DIR: files instead
    mfr 3 --output res -- 'echo out{}; echo err{} >&2' ::: 1 2 3
    expect_rc 0 "--output"
    [ -s out ] && fail "--output: something printed: $(cat out)"
    [ "$(cat res/2.out)" = out2 ] && [ "$(cat res/3.err)" = err3 ] || fail "--output files"
    echo "peak RSS $max KiB"
    ;;
keeporder)
    # Completion order shuffled by sleeps; --keep-order prints 1..16.
    mfr 5 --keep-order --joblog jl -- 'sleep 0.$(( (17 - {}) % 5 ))$(( {} % 3 )); echo {}' ::: $(seq 16)
    expect_rc 0 "keep-order"
    [ "$(cat out)" = "$(seq 16)" ] || fail "not in input order: $(tr '\n' ' ' <out)"
    done_order=$(awk -F'\t' 'NR > 1 { print $1 }' jl | tr '\n' ' ')
    [ "$done_order" != "$(seq 16 | tr '\n' ' ')" ] || fail "completion was not shuffled: the test proves nothing"
    ;;
daemon)
    # Commands that leave a background child holding the output open
    # never wedge the slot, and the child is killed with the group.
    mark=31.$RANDOM
    start=$(date +%s)
    mfr 2 --joblog jl -- "sleep $mark & echo started {}" ::: 1 2 3 4
    expect_rc 0 "daemon"
    el=$(($(date +%s) - start))
    [ "$el" -lt 20 ] || fail "took $el s: a slot was wedged"
    [ "$(grep -c started out)" = 4 ] || fail "outputs: $(cat out)"
    # SIGKILL was sent before the task reported; allow its delivery (a
    # bounded wait, far below the child's 31 s).
    gone "sleep $mark" 5 "a background child outlived its task"
    # a process that escaped its group (setsid) and writes later never
    # writes into a later command's output on the same slot
    printf '%s\n' "setsid sh -c 'sleep 0.3; echo LATE' & sleep 0.1; echo first" "sleep 0.6; echo second" "echo third" >esc
    mfr 2 --tag --keep-order esc
    expect_rc 0 "setsid"
    [ "$(cat out)" = "$(printf '1\tfirst\n2\tsecond\n3\tthird')" ] || fail "escaped writer: $(cat out)"
    # a timeout kills the group and is recorded as such
    start=$(date +%s)
    mfr 2 --timeout 0.5 --joblog jl2 -- 'sleep 30; echo no' ::: 1
    expect_rc 1 "timeout"
    el=$(($(date +%s) - start))
    [ "$el" -lt 10 ] || fail "timeout took $el s"
    awk -F'\t' 'NR == 2 && $10 == "timeout"' jl2 | grep -q . || fail "timeout not recorded: $(cat jl2)"
    ;;
retries)
    mfr 3 --retries 2 --joblog jl -- '[ "$MF_TASK_ATTEMPT" -ge {} ] && echo ok{}' ::: 1 2 3 4
    expect_rc 1 "one task fails on its 3 attempts"
    [ "$(sort out | tr '\n' ' ')" = "ok1 ok2 ok3 " ] || fail "outputs: $(cat out)"
    [ "$(status_count retried)" = 5 ] || fail "5 retried records expected (task 2: 1, 3: 2, 4: 2), got $(status_count retried)"
    awk -F'\t' 'NR > 1 && $1 == 4 && $2 == 3 && $10 == "failed"' jl | grep -q . || fail "task 4 attempt 3"
    # A retry runs on another rank when there is one: every task fails on
    # its first attempt, its second must run elsewhere (job log: id,
    # attempt, rank).
    mfr 3 --retries 1 --joblog jl2 -- 'test "$MF_TASK_ATTEMPT" -ge 2 && echo ok{}' ::: $(seq 12)
    expect_rc 0 "every task succeeds on its retry"
    [ "$(status_count retried jl2)" = 12 ] || fail "12 retried records expected in jl2"
    same=$(awk -F'\t' 'NR > 1 { if (($1 in r) && r[$1] == $3) n++; r[$1] = $3 } END { print n + 0 }' jl2)
    [ "$same" = 0 ] || fail "$same retries ran on the rank where they failed"
    ;;
slots)
    # --slots N > 1: a slot that frees takes the next command at once,
    # whatever its neighbours do. The first command waits for a file that
    # the last one writes: were a rank's slots run as one batch, it would
    # wait for ever (--timeout then ends it as a failure, and the test
    # fails). No timing is assumed.
    { echo 'while [ ! -e flag ]; do sleep 0.01; done; echo waited'
      for i in $(seq 30); do echo "echo s$i"; done
      echo 'touch flag; echo last'; } >tasks
    for np in 2 3; do
        rm -f flag
        mfr "$np" --slots 2 --timeout 60 --joblog "jl$np" tasks
        expect_rc 0 "slots on $np ranks"
        [ "$(status_count ok "jl$np")" = 32 ] || fail "np $np: $(status_count ok "jl$np") ok of 32"
        grep -qx waited out || fail "np $np: the waiting command did not finish"
        [ "$(grep -c '^s[0-9]*$' out)" = 30 ] || fail "np $np: outputs"
        # MF_TASK_SLOT: 0 or 1, and the two slots of a rank both used
        mfr "$np" --slots 2 -- 'echo "$MF_TASK_RANK $MF_TASK_SLOT"; sleep 0.0{}' ::: $(seq 9)
        expect_rc 0 "MF_TASK_SLOT"
        awk '$2 != 0 && $2 != 1 { bad = 1 } END { exit bad }' out || fail "slot out of range: $(cat out)"
        [ "$(awk '{ print $2 }' out | sort -u | wc -l)" = 2 ] || fail "one slot only: $(cat out)"
    done
    # Retries under --slots: the second attempt runs on another rank.
    mfr 3 --slots 3 --retries 1 --joblog jlr -- 'test "$MF_TASK_ATTEMPT" -ge 2 && echo ok{}' ::: $(seq 12)
    expect_rc 0 "every task succeeds on its retry"
    [ "$(status_count retried jlr)" = 12 ] || fail "12 retried records expected in jlr"
    same=$(awk -F'\t' 'NR > 1 { if (($1 in r) && r[$1] == $3) n++; r[$1] = $3 } END { print n + 0 }' jlr)
    [ "$same" = 0 ] || fail "$same retries ran on the rank where they failed"
    # A stop under --slots: the commands that outlived their task are
    # recorded too, the count is right, and --resume finishes the rest.
    mark=0.3$RANDOM
    "${launcher[0]}" -n 3 "${launcher[@]:1}" "$MFRUN" --slots 3 --grace 5 --joblog jl -- "echo {} >> ran; sleep $mark" ::: $(seq 60) >out 2>err &
    pid=$!
    wait_lines ran 12 60
    if "${launcher[0]}" --version 2>&1 | grep -q HYDRA; then
        pkill -USR1 -f "^$MFRUN .*sleep $mark"
    else
        kill -USR1 "$pid"
    fi
    pkill -USR1 -f "^sleep $mark\$"
    wait "$pid"
    rc=$?
    expect_rc 5 "interrupted"
    expect_interrupted SIGUSR1 60
    [ "$(status_count ok)" = "$(sort -u ran | wc -l)" ] || fail "ran $(sort -u ran | wc -l), log has $(status_count ok) ok"
    mfr 3 --slots 3 --resume --joblog jl -- "echo {} >> ran; sleep $mark" ::: $(seq 60)
    expect_rc 0 "resume"
    [ "$(status_count ok)" = 60 ] || fail "after resume: $(status_count ok) ok of 60"
    expect_once
    ;;
halt)
    # soon,fail=2: 2 failures stop the dispatch; the exit status is the
    # number of failed tasks.
    mfr 2 --halt soon,fail=2 --joblog jl -- 'exit 1' ::: $(seq 50)
    [ "$rc" -ge 2 ] && [ "$rc" -le 8 ] || fail "halt soon: exit $rc"
    n=$(($(wc -l <jl) - 1))
    [ "$n" -lt 50 ] || fail "halt soon ran all $n tasks"
    grep -q 'halt soon' err || fail "no halt message"
    # now,fail=1: the running sleep is killed at once
    start=$(date +%s)
    rm -f jl
    mfr 3 --halt now,fail=1 --joblog jl -- 'if [ {} = 1 ]; then exit 1; else sleep 30; fi' ::: 1 2
    el=$(($(date +%s) - start))
    expect_rc 1 "halt now"
    [ "$el" -lt 15 ] || fail "halt now took $el s"
    [ "$(status_count interrupted)" = 1 ] || fail "the sleep was not recorded as interrupted"
    # percentages
    mfr 2 --halt soon,fail=50% -- 'exit 1' ::: $(seq 20)
    [ "$rc" -ge 10 ] && [ "$rc" -le 17 ] || fail "halt soon,fail=50%: exit $rc"
    ;;
signal)
    # SIGUSR1 to the launcher (as the job scripts do at walltime): stop,
    # grace, exit 5, complete log; --resume finishes the rest, nothing
    # that succeeded runs twice.
    # The signal also goes to the commands themselves (as srun does: Slurm
    # signals every process of the step): they ignore SIGUSR1 and finish.
    mark=0.4$RANDOM
    "${launcher[0]}" -n 3 "${launcher[@]:1}" "$MFRUN" --grace 2 --joblog jl -- "echo {} >> ran; sleep $mark" ::: $(seq 60) >out 2>err &
    pid=$!
    # Signal once some tasks are done (a bounded wait on the tasks' own
    # record, not a guess at how long start-up takes on a loaded machine).
    wait_lines ran 6 60
    # MPICH's mpiexec (Hydra 4.0) given SIGUSR1 itself returns 0 about
    # half the time although the ranks exit 5 (measured; README): under
    # Hydra the ranks get the signal, as srun gives it to every task.
    if "${launcher[0]}" --version 2>&1 | grep -q HYDRA; then
        pkill -USR1 -f "^$MFRUN .*sleep $mark"
    else
        kill -USR1 "$pid"
    fi
    # Only the commands' own sleeps (anchored: the launcher's and the
    # ranks' command lines contain the same text and must not be hit twice).
    pkill -USR1 -f "^sleep $mark\$"
    wait "$pid"
    rc=$?
    expect_rc 5 "interrupted"
    expect_interrupted SIGUSR1 60
    [ "$(status_count signal)" = 0 ] || fail "a command died of the SIGUSR1 meant for mf-run"
    mfr 3 --resume --joblog jl -- "echo {} >> ran; sleep $mark" ::: $(seq 60)
    expect_rc 0 "resume"
    [ "$(status_count ok)" = 60 ] || fail "after resume: $(status_count ok) ok of 60"
    expect_once
    ;;
sigkill)
    # SIGKILL of the whole job mid-run, then --resume: every task that
    # the log shows done ran once only; all 400 end up done.
    mark=sigkill-$$-$RANDOM
    setsid "${launcher[0]}" -n 3 "${launcher[@]:1}" "$MFRUN" --joblog jl -- "echo {} >> ran; sleep 0.05; : $mark" ::: $(seq 400) >out 2>err &
    pid=$!
    wait_lines jl 21 60
    kill -KILL -- -"$pid"
    wait "$pid" 2>/dev/null
    # Open MPI starts each rank in its own process group: they outlive
    # the killed launcher until they notice (about 2.5 s here), and the
    # root goes on logging meanwhile. Wait (bounded) until every rank and
    # command of that run is gone before touching the log.
    gone "$mark" 30 "ranks of the killed job still running after 30 s"
    before=$(awk -F'\t' 'NR > 1 && $10 == "ok" { print $1 }' jl | sort -n)
    nb=$(echo "$before" | grep -c .)
    [ "$nb" -gt 0 ] && [ "$nb" -lt 400 ] || fail "$nb tasks done before the kill: the test proves nothing"
    # a torn last line is ignored: add one
    printf '999\t1\t1\tvm\t1' >>jl
    mfr 3 --resume --joblog jl -- "echo {} >> ran; sleep 0.05; : $mark" ::: $(seq 400)
    expect_rc 0 "resume after SIGKILL"
    for id in $before; do
        c=$(grep -cx "$id" ran)
        [ "$c" = 1 ] || fail "task $id, done before the kill, ran $c times"
    done
    [ "$(awk -F'\t' 'NR > 1 && $10 == "ok" { print $1 }' jl | sort -un | wc -l)" = 400 ] || fail "not all 400 done"
    grep -q $'^999\t' jl && fail "the torn line was kept"
    # --resume-failed reruns failed ones only; an edited task reruns
    mfr 2 --joblog jl2 -- 'echo {} >> ran2; [ {} != 3 ]' ::: 1 2 3
    expect_rc 1 "one failure"
    mfr 2 --resume --joblog jl2 -- 'echo {} >> ran2; [ {} != 3 ]' ::: 1 2 3
    expect_rc 0 "--resume skips the failed one too"
    mfr 2 --resume-failed --joblog jl2 -- 'echo {} >> ran2; [ {} != 3 ]' ::: 1 2 3
    expect_rc 1 "--resume-failed reruns it"
    mfr 2 --resume --joblog jl2 -- 'echo {} >> ran2; [ {} != 3 ]' ::: 1 2 x
    expect_rc 0 "edited task 3 runs again"
    [ "$(sort ran2 | tr '\n' ' ')" = "1 2 3 3 x " ] || fail "runs: $(sort ran2 | tr '\n' ' ')"
    ;;
many)
    # 10^5 tasks end to end from a task file.
    seq 100000 | sed 's/^/echo /' >tasks
    MF_RUN_PEAK_RSS=1 mfr 3 --slots 2 --joblog jl tasks
    expect_rc 0 "10^5 tasks"
    [ "$(wc -l <out)" = 100000 ] || fail "$(wc -l <out) lines of output"
    [ "$(awk '{ s += $1 } END { printf "%.0f\n", s }' out)" = 5000050000 ] || fail "sum of outputs"
    [ "$(status_count ok)" = 100000 ] || fail "joblog: $(status_count ok) ok"
    grep 'peak RSS' err
    ;;
badinput)
    # each refused with a message and exit 2 before any task runs
    bad() { # DESCRIPTION REGEX ARGS...
        local what=$1 re=$2
        shift 2
        rm -f ran
        mfr 2 "$@"
        [ "$rc" -eq 2 ] || fail "$what: exit $rc, expected 2"
        grep -Eq -- "$re" err || fail "$what: no message matching '$re'"
        [ -e ran ] && fail "$what: a task ran"
        return 0
    }
    printf 'touch ran\n' >good
    : >empty
    printf '# only\n\n' >comments
    printf 'touch ran\necho a\0b\n' >binary
    { echo 'touch ran'; printf 'echo %0*d\n' 1048576 0; } >huge
    bad "missing file" "cannot read task file 'nofile'" nofile
    bad "empty file" "has no commands" empty
    bad "comments only" "has no commands" comments
    bad "binary file" "NUL byte" binary
    bad "directory" "is a directory" .
    bad "1 MiB line" "more than the 131071" huge
    bad "::: no values" "::: is followed by no values" -- touch ran :::
    bad "--args of 0 lines" "has no lines" --args empty -- touch ran '{}'
    bad "--slots 0" "--slots: '0'" --slots 0 good
    bad "--slots -1" "--slots: '-1'" --slots -1 good
    bad "--slots abc" "--slots: 'abc'" --slots abc good
    bad "--timeout x" "--timeout: 'x'" --timeout x good
    bad "--retries -2" "--retries: '-2'" --retries -2 good
    bad "--halt bad" "--halt: 'sometimes'" --halt sometimes good
    bad "unknown option" "unknown option '--frob'" --frob good
    bad "unwritable --output" "--output /dev/null/x" --output /dev/null/x good
    bad "unwritable --joblog" "--joblog /dev/null/x" --joblog /dev/null/x good
    bad "--workdir missing" "--workdir nodir" --workdir nodir good
    printf 'touch ran2\n' >t2
    mfr 2 --joblog jl t2
    expect_rc 0 "a run for the log"
    bad "joblog without --resume" "add --resume" --joblog jl good
    bad "joblog of another list" "different task list" --resume --joblog jl good
    printf 'not a log\n' >notlog
    bad "not a joblog" "not an mf-run job log" --resume --joblog notlog good
    bad "-j under a launcher" "-j/--jobs is for a run alone" -j 2 good
    # alone: refusals of its own
    for a in "-j 0" "-j x" "--jobs 5000"; do
        # shellcheck disable=SC2086 # the words of $a are options
        "$MFRUN" $a good >out 2>err
        rc=$?
        expect_rc 2 "alone $a"
        grep -q -- "--jobs: " err || fail "alone $a: message"
    done
    MF_BACKEND=threads "$MFRUN" good >out 2>err
    rc=$?
    expect_rc 2 "alone, MF_BACKEND=threads"
    grep -q 'must be processes' err || fail "MF_BACKEND=threads: message"
    MF_BACKEND=none "$MFRUN" good >out 2>err
    rc=$?
    expect_rc 2 "alone, MF_BACKEND=none"
    grep -q 'MF_BACKEND=none: no workers' err || fail "MF_BACKEND=none: message"
    [ -e ran ] && fail "alone, refused: a task ran"
    "$MFRUN" --help >out 2>err || fail "--help exit"
    grep -q 'Exit status' out || fail "--help has no exit status"
    ;;
direct)
    # Plain commands start without the shell; the results must be the
    # shell's: the same output and exit status, with and without
    # --always-shell, for plain and not-so-plain commands.
    printf '#!/bin/sh\necho script "$@"\n' >prog.sh
    printf 'echo noshebang "$@"\n' >noshebang
    chmod +x prog.sh noshebang
    printf '%s\n' 'true' 'false' 'printenv MF_TASK_ID MF_TASK_SLOT HOME' 'X=1 printenv X' 'sleep 0.01' './prog.sh a b' \
        './noshebang c' 'no_such_program_mf 1' 'cat /nonexistent' 'exit 4' \
        'sh -c exit\ 7' 'ls prog.sh' >tasks
    for mode in direct shell; do
        extra=()
        [ "$mode" = shell ] && extra=(--always-shell)
        mfr 2 --keep-order --joblog "jl.$mode" "${extra[@]}" tasks
        [ "$rc" = 5 ] || fail "$mode: exit $rc, expected 5 (5 failures)"
        cp out "out.$mode"
        grep -v -e 'tasks failed' -e '^---' -e 'Primary job' -e 'non-zero' \
            -e 'detected that' -e 'the job to be' -e 'Process name' -e 'Exit code' err |
            sed 's/^.*: //' | grep . | sort >"err.$mode"
        awk -F'\t' 'NR > 1 { print $1, $7, $8, $10 }' "jl.$mode" | sort -n >"st.$mode"
    done
    diff out.direct out.shell >/dev/null || fail "stdout differs: $(diff out.direct out.shell | head -n 5)"
    diff st.direct st.shell >/dev/null || fail "statuses differ: $(diff st.direct st.shell)"
    diff err.direct err.shell >/dev/null || fail "stderr differs: $(diff err.direct err.shell)"
    grep -qx 3 out.direct || fail "MF_TASK_ID missing from a direct start"
    grep -q '^script a b$' out.direct && grep -q '^noshebang c$' out.direct || fail "scripts"
    # and the direct start did happen: the script's parent is the worker
    printf '#!/bin/sh\ncat /proc/$PPID/comm\n' >ppid.sh
    chmod +x ppid.sh
    mfr 2 -- ./ppid.sh ::: x
    [ "$(cat out)" = mf-run ] || fail "not started directly: parent '$(cat out)'"
    mfr 2 --always-shell -- ./ppid.sh ::: x
    [ "$(cat out)" = sh ] || fail "--always-shell: parent '$(cat out)', not sh"
    ;;
alone)
    # Started without a launcher: a pool of worker processes (-j N) on
    # this machine, with everything else as under mpirun.
    mark=alone-$$-$RANDOM
    "$MFRUN" -j 3 --tag --joblog jl -- "echo \$MF_TASK_RANK >> ranks; echo {}; : $mark" ::: $(seq 30) >out 2>err
    rc=$?
    expect_rc 0 "alone -j 3"
    [ "$(cut -f2 out | sort -n | tr '\n' ' ')" = "$(seq 30 | tr '\n' ' ')" ] || fail "alone: outputs $(cat out)"
    [ "$(status_count ok)" = 30 ] || fail "alone: $(status_count ok) ok of 30"
    [ "$(sort -u ranks | tr '\n' ' ')" != "" ] && ! grep -qv '^[123]$' ranks || fail "alone: MF_TASK_RANK not 1..3: $(sort -u ranks | tr '\n' ' ')"
    awk -F'\t' 'NR > 1 && ($3 < 1 || $3 > 3)' jl | grep -q . && fail "alone: job log rank outside 1..3"
    # failures, a crash and 127 recorded; the exit status counts them
    rm -f jl
    "$MFRUN" -j 2 --joblog jl -- 'case {} in 2) exit 3;; 3) kill -SEGV $$;; 4) no_such_command_mf;; esac' ::: 1 2 3 4 >out 2>err
    rc=$?
    expect_rc 3 "alone: three failures"
    awk -F'\t' 'NR > 1 && $1 == 3 && $8 == 11' jl | grep -q . || fail "alone: SIGSEGV not recorded"
    awk -F'\t' 'NR > 1 && $1 == 4 && $7 == 127' jl | grep -q . || fail "alone: 127 not recorded"
    # SIGINT to the whole process group, as Ctrl-C does: the root and its
    # workers stop (exit 5, the log complete), no command outlives them,
    # and --resume finishes the rest, nothing that succeeded twice.
    rm -f jl ran
    cmd="echo {} >> ran; sleep 0.3; : $mark"
    setsid "$MFRUN" -j 2 --grace 1 --joblog jl -- "$cmd" ::: $(seq 40) >out 2>err &
    pid=$!
    wait_lines ran 4 60
    kill -INT -- -"$pid"
    wait "$pid"
    rc=$?
    expect_rc 5 "alone: interrupted by SIGINT"
    expect_interrupted SIGINT 40
    gone "$mark" 10 "alone: a worker or command outlived the interrupted run"
    "$MFRUN" -j 2 --resume --joblog jl -- "$cmd" ::: $(seq 40) >out 2>err
    rc=$?
    expect_rc 0 "alone: resume"
    [ "$(status_count ok)" = 40 ] || fail "alone: after resume $(status_count ok) ok of 40"
    expect_once
    # SIGUSR1 to the root only (as a batch system's warning): it tells
    # its workers through the shared page; exit 5.
    rm -f jl ran
    "$MFRUN" -j 2 --grace 1 --joblog jl -- "$cmd" ::: $(seq 40) >out 2>err &
    pid=$!
    wait_lines ran 4 60
    kill -USR1 "$pid"
    wait "$pid"
    rc=$?
    expect_rc 5 "alone: interrupted by SIGUSR1"
    [ "$(status_count ok)" -lt 40 ] || fail "alone: SIGUSR1 stopped nothing"
    ;;
*)
    echo "check.sh: unknown scenario '$scenario'" >&2
    exit 2
    ;;
esac
echo "ok: $scenario"
