#!/bin/sh
# expect_death.sh SECONDS REGEX command...
# Passes when the command ends within SECONDS with a non-zero status and
# its output (stdout+stderr) matches the extended REGEX. Used for jobs
# that must end (not hang) when a rank dies.
limit=$1 regex=$2
shift 2
out=$(mktemp)
start=$(date +%s)
"$@" >"$out" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
cat "$out"
ok=1
if [ "$status" -eq 0 ]; then
    echo "expect_death: FAIL: the job exited 0" >&2; ok=0
fi
if [ "$elapsed" -gt "$limit" ]; then
    echo "expect_death: FAIL: took ${elapsed}s, limit ${limit}s" >&2; ok=0
fi
if ! grep -Eq "$regex" "$out"; then
    echo "expect_death: FAIL: no line matches: $regex" >&2; ok=0
fi
rm -f "$out"
[ "$ok" -eq 1 ] && echo "expect_death: ok (status $status, ${elapsed}s)"
[ "$ok" -eq 1 ]
