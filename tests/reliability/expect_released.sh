#!/bin/sh
# expect_released.sh SECONDS WORKERS STATUS command...   (WORKERS: a
# count, or "any" where the launcher may kill released workers before
# they print, as MPICH's Hydra does once the root exits non-zero)
# Passes when the command ends within SECONDS, with exit status STATUS
# ("any" for any), its output names the missed mf_executor_close() and
# WORKERS lines say "worker released": the library closed what the root
# left open and every worker got out (tests/reliability/missed_close.c).
limit=$1 workers=$2 want=$3
shift 3
out=$(mktemp)
start=$(date +%s)
"$@" >"$out" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
cat "$out"
ok=1
if [ "$want" != any ] && [ "$status" -ne "$want" ]; then
    echo "expect_released: FAIL: exit status $status, want $want" >&2; ok=0
fi
if [ "$elapsed" -gt "$limit" ]; then
    echo "expect_released: FAIL: took ${elapsed}s, limit ${limit}s" >&2; ok=0
fi
if ! grep -Eq 'still open at .*call mf_executor_close\(\)' "$out"; then
    echo "expect_released: FAIL: no message naming mf_executor_close()" >&2
    ok=0
fi
# -o: two ranks' lines can reach the launcher's stdout run together
# ("worker releasedworker released"), so count occurrences, not lines.
n=$(grep -o "worker released" "$out" | wc -l)
if [ "$workers" != any ] && [ "$n" -ne "$workers" ]; then
    echo "expect_released: FAIL: $n workers released, want $workers" >&2
    ok=0
fi
rm -f "$out"
[ "$ok" -eq 1 ] && echo "expect_released: ok (status $status, ${elapsed}s)"
[ "$ok" -eq 1 ]
