#!/usr/bin/env bash
# check_run.sh — run mf-factorial under the MPI launcher and check it.
#
#   check_run.sh [checks...] -- LAUNCHER ARGS... mf-factorial ARGS...
#
# checks (any number, in any order):
#   --exit N            expected exit status (default 0)
#   --grep RE           the output (stdout+stderr) must match RE (grep -E)
#   --no-grep RE        the output must not match RE
#   --line TEXT         some stdout line must start with exactly TEXT
#   --expect CMD        run CMD (a shell command, e.g. the fact_expect
#                       oracle); each line it prints must start some stdout
#                       line of the program (so the summary line's
#                       "seconds=" suffix is ignored)
#   --last-prefix TEXT  the last stdout line must start with TEXT
#   --stdin FILE        feed FILE to the launcher's standard input
#   --out-dir DIR       removed before the run; use with --out-check
#   --out-check "N CMD" DIR/N.txt must equal the output of CMD
#   --count-lines RE N  exactly N stdout lines match RE
#   --order CMD         the n of the "n=..." result lines, in output order,
#                       are exactly the lines printed by CMD (e.g. seq)
#   --exit-nonzero      any non-zero exit status is expected (the launcher's
#                       status after a lost rank varies)
#   --env VAR=VALUE     set VAR in the environment of the run
#   --max-seconds N     the run must end within N seconds (a bound, never a
#                       synchronisation: it is killed after N s and fails)
#   --ulimit-v KB       virtual memory limit of the run (ulimit -v)
#   --fifo-gen CMD      make a FIFO, feed it the output of CMD in the
#                       background; @FIFO@ in the command line is its path
# The test fails (exit 1) with the reason and the program's output.
set -u
expect_exit=0
greps=() nogreps=() lines=() expects=() outchecks=() counts=() orders=()
last_prefix="" stdin_file=/dev/null out_dir=""
nonzero=0 max_seconds="" ulimit_v="" fifo_gen=""
while [ $# -gt 0 ]; do
    case "$1" in
    --exit) expect_exit=$2; shift 2 ;;
    --grep) greps+=("$2"); shift 2 ;;
    --no-grep) nogreps+=("$2"); shift 2 ;;
    --line) lines+=("$2"); shift 2 ;;
    --expect) expects+=("$2"); shift 2 ;;
    --last-prefix) last_prefix=$2; shift 2 ;;
    --stdin) stdin_file=$2; shift 2 ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --out-check) outchecks+=("$2"); shift 2 ;;
    --count-lines) counts+=("$2"$'\t'"$3"); shift 3 ;;
    --order) orders+=("$2"); shift 2 ;;
    --exit-nonzero) nonzero=1; shift ;;
    --env) export "${2?}"; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --ulimit-v) ulimit_v=$2; shift 2 ;;
    --fifo-gen) fifo_gen=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check_run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "check_run.sh: no command" >&2; exit 2; }

tmp=$(mktemp -d)
gen_pid=""
cleanup() {
    if [ -n "$gen_pid" ]; then kill "$gen_pid" 2>/dev/null; wait "$gen_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "$out_dir" ]; then rm -rf "$out_dir"; fi
if [ -n "$fifo_gen" ]; then
    mkfifo "$tmp/input.fifo" || exit 2
    # The generator blocks until the program opens the FIFO; it ends with
    # SIGPIPE when the program stops reading (or is killed at the end).
    (eval "$fifo_gen") >"$tmp/input.fifo" 2>/dev/null &
    gen_pid=$!
    args=()
    for a in "$@"; do args+=("${a//@FIFO@/$tmp/input.fifo}"); done
    set -- "${args[@]}"
fi
cmdline="$*"

run=("$@")
if [ -n "$max_seconds" ]; then run=(timeout -k 10 "$max_seconds" "$@"); fi
(
    if [ -n "$ulimit_v" ]; then ulimit -v "$ulimit_v" || exit 99; fi
    exec "${run[@]}"
) <"$stdin_file" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out" "$tmp/err" >"$tmp/all"

fail() {
    echo "FAIL: $*"
    echo "---- command: $cmdline"
    echo "---- exit status: $rc"
    echo "---- stdout (last 40 lines):"; tail -n 40 "$tmp/out"
    echo "---- stderr:"; tail -n 40 "$tmp/err"
    exit 1
}

if [ -n "$max_seconds" ] && [ "$rc" -eq 124 ]; then
    fail "still running after $max_seconds s (killed)"
fi
if [ "$nonzero" = 1 ]; then
    [ "$rc" -ne 0 ] || fail "exit status 0, expected a failure"
else
    [ "$rc" -eq "$expect_exit" ] || fail "exit status $rc, expected $expect_exit"
fi
for re in "${greps[@]+"${greps[@]}"}"; do
    grep -Eq -- "$re" "$tmp/all" || fail "output does not match /$re/"
done
for re in "${nogreps[@]+"${nogreps[@]}"}"; do
    if grep -Eq -- "$re" "$tmp/all"; then fail "output matches /$re/"; fi
done
has_prefix() { # TEXT: some stdout line starts with TEXT
    awk -v p="$1" 'index($0, p) == 1 { f = 1 } END { exit !f }' "$tmp/out"
}
for l in "${lines[@]+"${lines[@]}"}"; do
    has_prefix "$l" || fail "no stdout line starts with '$l'"
done
for cmd in "${expects[@]+"${expects[@]}"}"; do
    eval "$cmd" >"$tmp/expect" || fail "oracle failed: $cmd"
    [ -s "$tmp/expect" ] || fail "oracle printed nothing: $cmd"
    while IFS= read -r l; do
        has_prefix "$l" || fail "expected a line starting with '$l' (from: $cmd)"
    done <"$tmp/expect"
done
if [ -n "$last_prefix" ]; then
    last=$(tail -n 1 "$tmp/out")
    case "$last" in
    "$last_prefix"*) ;;
    *) fail "last line is '$last', expected it to start with '$last_prefix'" ;;
    esac
fi
for oc in "${outchecks[@]+"${outchecks[@]}"}"; do
    n=${oc%% *} cmd=${oc#* }
    f="$out_dir/$n.txt"
    [ -f "$f" ] || fail "missing $f"
    eval "$cmd" >"$tmp/dec" || fail "oracle failed: $cmd"
    cmp -s "$f" "$tmp/dec" || fail "$f differs from the output of $cmd"
done
for c in "${counts[@]+"${counts[@]}"}"; do
    re=${c%%$'\t'*} want=${c#*$'\t'}
    got=$(grep -Ec -- "$re" "$tmp/out")
    [ "$got" -eq "$want" ] || fail "$got stdout lines match /$re/, expected $want"
done
for cmd in "${orders[@]+"${orders[@]}"}"; do
    eval "$cmd" >"$tmp/order" || fail "order command failed: $cmd"
    sed -n 's/^n=\([0-9]*\) .*/\1/p' "$tmp/out" >"$tmp/got_order"
    cmp -s "$tmp/order" "$tmp/got_order" || fail "result lines not in the order of: $cmd"
done
if [ -n "$out_dir" ]; then rm -rf "$out_dir"; fi
echo "ok: exit $rc, $(wc -l <"$tmp/out") lines of output"
exit 0
