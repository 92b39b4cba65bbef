#!/bin/sh
# orphans.sh PROGRAM — a local pool's workers die with their root: start
# `PROGRAM --hold` (a pool of 2 that prints its workers' pids, then
# sleeps), kill it with SIGKILL, and check (bounded wait) that neither
# worker is left.
prog=$1
out=$(mktemp)
"$prog" --hold >"$out" &
root=$!
i=0
while ! grep -q '^pids ' "$out" && [ "$i" -lt 300 ]; do
    sleep 0.1; i=$((i + 1))
done
read -r _ w1 w2 <"$out"
rm -f "$out"
if [ -z "$w2" ] || [ "$w1" = 0 ] || [ "$w2" = 0 ]; then
    echo "orphans: FAIL: the pool did not report its workers"; kill -9 "$root"; exit 1
fi
if ! kill -0 "$w1" || ! kill -0 "$w2"; then
    echo "orphans: FAIL: workers not running"; kill -9 "$root"; exit 1
fi
kill -9 "$root"
wait "$root" 2>/dev/null
i=0
while { kill -0 "$w1" 2>/dev/null || kill -0 "$w2" 2>/dev/null; } && [ "$i" -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
done
if kill -0 "$w1" 2>/dev/null || kill -0 "$w2" 2>/dev/null; then
    echo "orphans: FAIL: a worker outlived its root by 10 s"; kill -9 "$w1" "$w2" 2>/dev/null; exit 1
fi
echo "orphans: ok (workers $w1 $w2 gone with their root)"
