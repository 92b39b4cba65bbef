#!/bin/sh
# run_observe.sh LAUNCHER... -- PROGRAM: run observe_run with a trace,
# statistics and progress lines, then check the trace and the printouts.
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export MF_TRACE="$dir/trace.json" MF_STATS=1 MF_PROGRESS=1 MF_PROGRESS_INTERVAL=1
"$@" >"$dir/out.txt" 2>"$dir/err.txt"
status=$?
cat "$dir/out.txt" "$dir/err.txt"
[ "$status" -eq 0 ] || { echo "run_observe: program failed ($status)"; exit 1; }
grep -q "observe_run: ok" "$dir/out.txt" || { echo "run_observe: no ok line"; exit 1; }
grep -Eq "^mpifutures: per-worker statistics" "$dir/err.txt" ||
    { echo "run_observe: no statistics table"; exit 1; }
grep -Eq "^ +[0-9]+ +[^ ]+ +[0-9]+ +[0-9]+ +[0-9.]+% " "$dir/err.txt" ||
    { echo "run_observe: no statistics rows"; exit 1; }
# Not a terminal: plain progress lines, no control characters.
grep -Eq "^mpifutures: [0-9]+/[0-9]+ done, [0-9]+ failed" "$dir/err.txt" ||
    { echo "run_observe: no progress line"; exit 1; }
# The last line counts items, a chunk's items and failing items included:
# 300 + 200 single tasks and 50 map items, 30 + 5 of them failing.
grep -Eq "^mpifutures: 550/550 done, 35 failed" "$dir/err.txt" ||
    { echo "run_observe: the final progress line does not count the map's items"; exit 1; }
if grep -q "$(printf '\r')" "$dir/err.txt"; then
    echo "run_observe: control characters in a non-terminal progress line"; exit 1
fi
python3 "$(dirname "$0")/check_trace.py" "$dir/trace.json" "$dir/out.txt"
status=$?
# The SVG timeline renders and is well-formed, with a box per slice.
svg="$dir/timeline.svg"
"$(dirname "$0")/../../scripts/trace-svg" "$dir/trace.json" >"$svg" || exit 1
python3 - "$svg" "$dir/trace.json" <<'PY' || exit 1
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
boxes = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("{http://www.w3.org/2000/svg}title") is not None]
slices = [e for e in json.load(open(sys.argv[2]))["traceEvents"] if e.get("ph") == "X"]
print(f"trace-svg: {len(boxes)} boxes for {len(slices)} slices")
sys.exit(0 if len(boxes) == len(slices) else 1)
PY
exit $status
