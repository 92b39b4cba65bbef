#!/bin/sh
# journal_test.sh LAUNCHER... -- PROGRAM: kill a journaled run (SIGKILL,
# then SIGTERM), resume it, and check that nothing journaled ran again and
# the results are complete and right; a torn last record is dropped; a
# journal from another registry is refused on every rank.
set -u
sep=0; launcher=""; prog=""
for a in "$@"; do
    if [ "$a" = "--" ]; then sep=1; continue; fi
    if [ $sep = 0 ]; then launcher="$launcher $a"; else prog="$a"; fi
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
N=600
fail() { echo "journal_test: FAIL: $*"; exit 1; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }
run() { # run OUT ARGS...: run the program, output to OUT, return status
    out=$1; shift
    $launcher "$prog" "$@" >"$out" 2>&1
}

# 1. SIGKILL after 200 results, then resume.
J="$dir/j1"
run "$dir/a.out" "$J" $N --kill-after 200 && fail "a killed run exited 0"
[ -s "$J" ] || fail "no journal written"
run "$dir/b.out" "$J" $N || { cat "$dir/b.out"; fail "resume failed"; }
cat "$dir/b.out" | grep "journal:"
loaded=$(field loaded "$dir/b.out"); reused=$(field reused "$dir/b.out")
ran=$(field dispatched "$dir/b.out"); ok=$(field sum_ok "$dir/b.out")
[ "$ok" = 1 ] || fail "resumed results incomplete or wrong"
[ "$loaded" -ge 200 ] || fail "only $loaded records survived the kill (>= 200 were received)"
[ "$reused" = "$loaded" ] || fail "reused $reused of $loaded journaled results"
[ $((ran + reused)) = $N ] || fail "ran $ran + reused $reused != $N: a journaled task ran again"

# 2. Everything journaled now: a third run runs nothing.
run "$dir/c.out" "$J" $N || fail "third run failed"
[ "$(field dispatched "$dir/c.out")" = 0 ] || fail "a complete journal still ran tasks"
[ "$(field sum_ok "$dir/c.out")" = 1 ] || fail "results from the journal are wrong"

# 3. A torn last record (cut mid-record) is dropped, the rest is used.
size=$(wc -c <"$J")
truncate -s $((size - 5)) "$J"
run "$dir/d.out" "$J" $N || { cat "$dir/d.out"; fail "run after tearing failed"; }
grep "journal:" "$dir/d.out"
[ "$(field torn "$dir/d.out")" -gt 0 ] || fail "torn end not detected"
[ "$(field dispatched "$dir/d.out")" = 1 ] || fail "expected exactly the torn task to run again"
[ "$(field sum_ok "$dir/d.out")" = 1 ] || fail "results wrong after tearing"

# 4. SIGTERM (handled): graceful stop, journal kept, resume completes.
J2="$dir/j2"
run "$dir/e.out" "$J2" $N --term-after 150
st=$?
[ $st = 4 ] || { cat "$dir/e.out"; fail "SIGTERM run: status $st, want 4 (interrupted)"; }
run "$dir/f.out" "$J2" $N || fail "resume after SIGTERM failed"
grep "journal:" "$dir/f.out"
reused=$(field reused "$dir/f.out"); ran=$(field dispatched "$dir/f.out")
[ "$reused" -ge 150 ] || fail "after SIGTERM only $reused results were journaled"
[ $((ran + reused)) = $N ] || fail "after SIGTERM: ran $ran + reused $reused != $N"
[ "$(field sum_ok "$dir/f.out")" = 1 ] || fail "results wrong after SIGTERM resume"

# 5. Another program (registry) is refused, on every rank, with a message.
run "$dir/g.out" "$J" $N --extra-fn
st=$?
[ $st != 0 ] || fail "a journal from another registry was accepted"
grep -q "other registered functions" "$dir/g.out" || { cat "$dir/g.out"; fail "no clear refusal message"; }
echo "journal_test: ok"
