#!/bin/sh
# repeat.sh N command...  Runs the command N times; fails at the first
# run that fails. For outcomes that went wrong in only some runs before
# the fix (MPICH ended a job whose worker called exit(0) with status 0 in
# about half of the runs).
n=$1
shift
i=1
while [ "$i" -le "$n" ]; do
    "$@" || { echo "repeat: run $i of $n failed" >&2; exit 1; }
    i=$((i + 1))
done
echo "repeat: $n of $n runs passed"
