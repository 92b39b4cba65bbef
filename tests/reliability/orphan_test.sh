#!/bin/sh
# orphan_test.sh MODE launcher [args...] program
# Runs `launcher ... program DIR` (program: orphan_run) and waits (at most
# 60 s) until every worker's isolated task runs. Then MODE: term, int or
# usr1 sends that signal to the launcher; kill9 sends SIGKILL to one
# worker rank. Passes when the launcher ends within 60 s (MPICH used to
# hang: the orphaned task held the rank's pipes) and, within 10 s after,
# no isolated task process nor worker rank is left (issue 11, items 10-11).
mode=$1
shift
dir=$(mktemp -d /tmp/mf-orphan-XXXXXX) || exit 1
"$@" "$dir" >"$dir/out" 2>&1 &
lpid=$!
ok=1
fail() { echo "orphan_test: FAIL: $*" >&2; ok=0; }
alive() { # a live process (a zombie waiting to be reaped is dead)
    [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
ntasks() { ls "$dir" | grep -c '^task\.'; }
i=0
while [ "$(ntasks)" -lt 2 ] && kill -0 "$lpid" 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
[ "$(ntasks)" -ge 2 ] || fail "the isolated tasks did not start"
tasks=$(cat "$dir"/task.* 2>/dev/null | awk '{print $1}')
workers=$(cat "$dir"/task.* 2>/dev/null | awk '{print $2}')
case $mode in
    term) kill -TERM "$lpid" ;;
    int) kill -INT "$lpid" ;;
    usr1) kill -USR1 "$lpid" ;;
    kill9) kill -KILL "$(echo "$workers" | head -n 1)" ;;
    *) echo "orphan_test: unknown mode $mode" >&2; exit 2 ;;
esac
i=0
while kill -0 "$lpid" 2>/dev/null && [ $i -lt 600 ]; do
    sleep 0.1; i=$((i + 1))
done
if kill -0 "$lpid" 2>/dev/null; then
    fail "the launcher still runs 60 s after $mode"
    kill -KILL "$lpid" 2>/dev/null
fi
wait "$lpid" 2>/dev/null
i=0
left=x
while [ -n "$left" ] && [ $i -lt 100 ]; do
    left=
    for p in $tasks $workers; do alive "$p" && left="$left $p"; done
    [ -n "$left" ] && { sleep 0.1; i=$((i + 1)); }
done
if [ -n "$left" ]; then
    fail "processes left 10 s after the job ended:$left"
    for p in $left; do ps -o pid,ppid,stat,args -p "$p" | tail -n +2; done
    for p in $left; do kill -KILL "$p" 2>/dev/null; done
fi
echo "--- job output:"; cat "$dir/out"
rm -rf "$dir"
[ $ok -eq 1 ] && echo "orphan_test: ok ($mode: no task process left)"
[ $ok -eq 1 ]
