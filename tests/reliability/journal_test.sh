#!/bin/sh
# journal_test.sh LAUNCHER... -- PROGRAM: kill a journaled run (SIGKILL,
# then SIGTERM), resume it, and check that nothing journaled ran again and
# the results are complete and right; a torn last record is dropped; a
# journal from another registry is refused on every rank; a timeout or a
# crash is not replayed (the task runs again); a damaged record in the
# middle costs that record only (and is reported); a second run on a
# journal in use is refused.
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
grep "journal:" "$dir/b.out"
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

# 6. A timeout is not replayed: rerun without it, the task runs (once).
J3="$dir/j3"
run "$dir/h.out" "$J3" 20 --hang 7
grep "journal:" "$dir/h.out"
[ "$(field timeouts "$dir/h.out")" = 1 ] || { cat "$dir/h.out"; fail "task 7 did not time out"; }
run "$dir/i.out" "$J3" 20 || { cat "$dir/i.out"; fail "rerun after a timeout failed (the timeout was replayed?)"; }
grep "journal:" "$dir/i.out"
[ "$(field dispatched "$dir/i.out")" = 1 ] || fail "after a timeout: expected exactly the timed-out task to run again"
[ "$(field reused "$dir/i.out")" = 19 ] || fail "after a timeout: the 19 results were not reused"
[ "$(field sum_ok "$dir/i.out")" = 1 ] || fail "after a timeout: results wrong"

# 7. Nor is a crash.
J4="$dir/j4"
run "$dir/h2.out" "$J4" 20 --crash 3
grep "journal:" "$dir/h2.out"
[ "$(field crashes "$dir/h2.out")" = 1 ] || { cat "$dir/h2.out"; fail "task 3 did not crash"; }
run "$dir/i2.out" "$J4" 20 || { cat "$dir/i2.out"; fail "rerun after a crash failed (the crash was replayed?)"; }
grep "journal:" "$dir/i2.out"
[ "$(field dispatched "$dir/i2.out")" = 1 ] || fail "after a crash: expected exactly the crashed task to run again"
[ "$(field sum_ok "$dir/i2.out")" = 1 ] || fail "after a crash: results wrong"

# 8. A flipped byte in record 10 of the complete journal J (600 records of
# 64 bytes after a 24-byte header): that one task runs again, the 590
# after it are kept, the file is not cut, and stderr says so.
flip() { # flip FILE OFFSET: xor the byte at OFFSET with 1
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' $((b ^ 1)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
size=$(wc -c <"$J")
[ "$size" = $((24 + 64 * N)) ] || fail "journal J has $size bytes, expected $((24 + 64 * N))"
flip "$J" $((24 + 9 * 64 + 50))
run "$dir/n.out" "$J" $N || { cat "$dir/n.out"; fail "run after damage failed"; }
grep "journal:" "$dir/n.out"
grep "damaged" "$dir/n.out"
[ "$(field dispatched "$dir/n.out")" = 1 ] || fail "a damaged middle record: expected exactly 1 task to run again, not $(field dispatched "$dir/n.out")"
[ "$(field reused "$dir/n.out")" = $((N - 1)) ] || fail "a damaged middle record: the others were not all reused"
[ "$(field sum_ok "$dir/n.out")" = 1 ] || fail "a damaged middle record: results wrong"
grep -q "skipped 1 damaged record" "$dir/n.out" || fail "the damaged record was skipped silently"
[ "$(wc -c <"$J")" = $((size + 64)) ] || fail "journal not kept whole (and the rerun appended)"
run "$dir/o.out" "$J" $N || fail "second run after damage failed"
[ "$(field dispatched "$dir/o.out")" = 0 ] || fail "after damage and a rerun, tasks still ran"

# 9. Two runs on one journal: the second is refused while the first holds
# it (the first waits, bounded, for the go once its journal is open).
J5="$dir/j5"
$launcher "$prog" "$J5" $N --hold "$dir/ready" "$dir/go" >"$dir/p.out" 2>&1 &
pid=$!
i=0
while [ ! -e "$dir/ready" ] && kill -0 $pid 2>/dev/null && [ $i -lt 3000 ]; do
    sleep 0.1; i=$((i + 1))
done
[ -e "$dir/ready" ] || { touch "$dir/go"; wait $pid; cat "$dir/p.out"; fail "the first run never opened its journal"; }
run "$dir/q.out" "$J5" $N
st=$?
touch "$dir/go"
wait $pid
st1=$?
[ $st = 5 ] || { cat "$dir/q.out"; fail "a second run on a journal in use: status $st, want 5 (MF_EINVAL)"; }
if ! grep -q "in use" "$dir/q.out" || ! grep -qF "$J5" "$dir/q.out"; then
    cat "$dir/q.out"; fail "no clear message naming the journal in use"
fi
[ $st1 = 0 ] || { cat "$dir/p.out"; fail "the first run failed (status $st1)"; }
run "$dir/r.out" "$J5" $N || fail "run after the concurrent pair failed"
[ "$(field reused "$dir/r.out")" = $N ] || fail "the first run's $N records are not all in the journal"
echo "journal_test: ok"
