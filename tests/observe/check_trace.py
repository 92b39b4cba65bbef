#!/usr/bin/env python3
"""check_trace.py TRACE.json OUTPUT.txt — validate a trace written by
MF_TRACE against what observe_run says it ran: valid JSON, a named track
per rank, one slice per task (per map chunk), failures marked, slices on a
worker's track never overlapping, times within the run."""
import collections, json, re, sys

trace = json.load(open(sys.argv[1]))          # must be valid JSON
out = open(sys.argv[2]).read()
m = re.search(r"expect: alpha=(\d+) beta=(\d+) chunks=(\d+) failed=(\d+)", out)
if not m:
    sys.exit("check_trace: no 'expect:' line in the program output")
alpha, beta, chunks, failed = map(int, m.groups())
ev = trace["traceEvents"]
ranks = trace["otherData"]["ranks"]
root = trace["otherData"]["root"]
errors = []
names = {e["tid"]: e["args"]["name"] for e in ev
         if e.get("ph") == "M" and e["name"] == "thread_name"}
if sorted(names) != list(range(ranks)):
    errors.append(f"thread names for ranks {sorted(names)}, want 0..{ranks-1}")
tasks = [e for e in ev if e.get("cat") == "task"]
count = collections.Counter(e["name"] for e in tasks)
if count["alpha"] != alpha + chunks:
    errors.append(f"{count['alpha']} alpha slices, want {alpha + chunks}")
if count["beta"] != beta:
    errors.append(f"{count['beta']} beta slices, want {beta}")
nfailed = sum(1 for e in tasks if e["args"]["status"] == "failed")
if nfailed != failed:
    errors.append(f"{nfailed} failed slices, want {failed}")
ids = [e["args"]["id"] for e in tasks]
if len(set(ids)) != len(ids):
    errors.append("a task id appears twice")
by = collections.defaultdict(list)
for e in tasks:
    if e["tid"] == root or not 0 <= e["tid"] < ranks:
        errors.append(f"task slice on track {e['tid']}")
    if e["ts"] < 0 or e["dur"] < 0:
        errors.append(f"negative time in {e}")
    by[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
for tid, spans in by.items():
    spans.sort()
    for a, b in zip(spans, spans[1:]):
        if b[0] < a[1] - 0.002:   # 2 ns of rounding
            errors.append(f"overlapping slices on rank {tid}: {a} {b}")
            break
phases = collections.Counter(e["name"] for e in ev if e.get("cat") == "root")
if not phases["dispatch"] or not phases["wait"]:
    errors.append(f"root phases missing: {dict(phases)}")
for e in errors:
    print("check_trace:", e)
print(f"check_trace: {len(tasks)} task slices on {len(by)} workers, "
      f"{sum(phases.values())} root phases: {'FAILED' if errors else 'ok'}")
sys.exit(1 if errors else 0)
