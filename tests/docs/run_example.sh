#!/bin/sh
# run_example.sh EXPECTED LAUNCHER-COMMAND...
# Runs the command (the overview's example under mpiexec); passes only if it
# exits 0 and one line of its output is exactly EXPECTED.
expected=$1
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
    echo "run_example.sh: exit status $rc" >&2
    exit 1
fi
if ! printf '%s\n' "$out" | grep -qxF -- "$expected"; then
    echo "run_example.sh: no output line '$expected'" >&2
    exit 1
fi
