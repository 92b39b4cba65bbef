#!/usr/bin/env bash
# check_journal.sh — mf-factorial with a resume journal (MF_JOURNAL), run
# twice under the MPI launcher on one journal file.
#
#   check_journal.sh reuse -- LAUNCHER ARGS... mf-factorial ARGS...
#       The first run takes 0 integers from the journal, the second all of
#       them, and both print the same summary (count, digits, checksum).
#   check_journal.sh interrupt K -- LAUNCHER ARGS... mf-factorial ARGS...
#       The first run gets SIGUSR1 on the root after K integers (the test
#       hook MF_FACTORIAL_TEST_SIGNAL_AFTER) and stops with exit status 5;
#       the number of integers it says finished must equal the number the
#       second run takes from the journal (every result that reached the
#       journal, grace period included, is counted). Use --chunk 1, so
#       that one journal record is one integer.
# Exit 0 if so, else 1 with the reason and both outputs.
set -u
mode=${1:?mode}
shift
k=""
if [ "$mode" = interrupt ]; then k=${1:?K}; shift; fi
[ "${1:-}" = -- ] || { echo "check_journal.sh: expected --" >&2; exit 2; }
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MF_JOURNAL="$tmp/journal"

fail() {
    echo "FAIL: $*"
    for i in 1 2; do
        [ -f "$tmp/all$i" ] || continue
        echo "---- run $i (exit ${rcs[$i]:-?}):"
        tail -n 30 "$tmp/all$i"
    done
    exit 1
}
declare -A rcs
run() { # N [env...]: run the command, output in $tmp/all$N
    local i=$1
    shift
    env "$@" "${cmd[@]}" >"$tmp/out$i" 2>"$tmp/err$i"
    rcs[$i]=$?
    cat "$tmp/out$i" "$tmp/err$i" >"$tmp/all$i"
}
cmd=("$@")
# "journal: R of N integers" -> R (empty if absent)
reused() { sed -n 's/^mf-factorial: journal: \([0-9]*\) of [0-9]* integers.*/\1/p' "$1" | tail -n 1; }
summary() { sed -n 's/^\(summary: count=[0-9]* digits=[0-9]* checksum=[0-9]*\).*/\1/p' "$1"; }

if [ "$mode" = reuse ]; then
    run 1
    [ "${rcs[1]}" -eq 0 ] || fail "first run: exit status ${rcs[1]}"
    s1=$(summary "$tmp/out1")
    [ -n "$s1" ] || fail "first run: no summary"
    n=$(echo "$s1" | sed 's/summary: count=\([0-9]*\).*/\1/')
    r1=$(reused "$tmp/err1")
    [ "$r1" = 0 ] || fail "first run: expected 'journal: 0 of $n integers' on stderr, got '$r1'"
    grep -q "journal: 0 of $n integers" "$tmp/err1" || fail "first run: no 'journal: 0 of $n integers'"
    run 2
    [ "${rcs[2]}" -eq 0 ] || fail "second run: exit status ${rcs[2]}"
    s2=$(summary "$tmp/out2")
    [ "$s1" = "$s2" ] || fail "summaries differ: '$s1' and '$s2'"
    grep -q "journal: $n of $n integers" "$tmp/err2" ||
        fail "second run: no 'journal: $n of $n integers' on stderr"
    echo "ok: $n integers, all $n taken from the journal the second time"
    exit 0
fi

run 1 MF_FACTORIAL_TEST_SIGNAL_AFTER="$k"
[ "${rcs[1]}" -eq 5 ] || fail "first run: exit status ${rcs[1]}, expected 5"
line=$(grep -E '^mf-factorial: interrupted by SIGUSR1: [0-9]+ of [0-9]+ integers finished' "$tmp/err1")
[ -n "$line" ] || fail "first run: no 'interrupted by SIGUSR1: X of N integers finished'"
x=$(echo "$line" | sed 's/.*SIGUSR1: \([0-9]*\) of \([0-9]*\) .*/\1/')
n=$(echo "$line" | sed 's/.*SIGUSR1: \([0-9]*\) of \([0-9]*\) .*/\2/')
[ "$x" -ge "$k" ] && [ "$x" -lt "$n" ] || fail "first run: $x of $n finished, expected $k <= X < $n"
run 2
[ "${rcs[2]}" -eq 0 ] || fail "second run: exit status ${rcs[2]}"
r=$(reused "$tmp/err2")
[ -n "$r" ] || fail "second run: no 'journal: R of N integers' on stderr"
[ "$r" = "$x" ] || fail "the interrupted run counted $x integers, but $r reached the journal"
echo "ok: interrupted after $x of $n integers, and $r came from the journal"
exit 0
