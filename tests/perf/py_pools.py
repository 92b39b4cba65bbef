"""CPython side of scripts/bench-local: concurrent.futures' ThreadPoolExecutor
and ProcessPoolExecutor (max_workers=2) on the figures mf-bench-local
measures for the library's local pools, for comparison on the same machine.

    python3 tests/perf/py_pools.py [--quick|--smoke] [--rounds N]

Tasks take an integer t and return t + 1; every answer is checked (a wrong
one exits 1). One machine-readable line per figure, the median over rounds:

    py thread rtt_us 45.1        one task at a time: submit + result()
    py thread tps 123456         submit N, then result() of each in order
    py process rtt_us ...
    py process tps ...
    py process map_tps ...       ex.map(f, range(M), chunksize=1000)
"""
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def tiny(t):
    return t + 1


def check(got, t):
    if got != t + 1:
        sys.stderr.write(f"py_pools: wrong result for task {t}: {got}\n")
        sys.exit(1)


def rtt(ex, reps):
    """Median seconds of one round trip."""
    lat = []
    for t in range(reps):
        t0 = time.perf_counter()
        got = ex.submit(tiny, t).result()
        lat.append(time.perf_counter() - t0)
        check(got, t)
    return statistics.median(lat)


def submit_all(ex, n):
    t0 = time.perf_counter()
    fs = [ex.submit(tiny, t) for t in range(n)]
    for t, f in enumerate(fs):
        check(f.result(), t)
    return n / (time.perf_counter() - t0)


def map_chunked(ex, n, chunksize):
    t0 = time.perf_counter()
    for t, got in enumerate(ex.map(tiny, range(n), chunksize=chunksize)):
        check(got, t)
    return n / (time.perf_counter() - t0)


def main():
    args = sys.argv[1:]
    level = 0 if "--smoke" in args else 1 if "--quick" in args else 2
    rounds = {0: 1, 1: 3, 2: 5}[level]
    if "--rounds" in args:
        rounds = max(1, int(args[args.index("--rounds") + 1]))

    def pick(smoke, quick, full):
        return (smoke, quick, full)[level]

    for kind, cls in (("thread", ThreadPoolExecutor),
                      ("process", ProcessPoolExecutor)):
        # CPython's process pool is ~10x slower per task: fewer of them.
        k = 1 if kind == "thread" else 10
        reps = pick(100, 3000, 10000) // k
        n = pick(1000, 20000, 50000) // k
        m = pick(10000, 200000, 1000000)
        figs = {"rtt_us": [], "tps": []}
        if kind == "process":
            figs["map_tps"] = []
        with cls(max_workers=2) as ex:
            ex.submit(tiny, 0).result()  # start the workers
            for r in range(-1, rounds):  # round -1 warms up
                v = {"rtt_us": rtt(ex, reps) * 1e6, "tps": submit_all(ex, n)}
                if kind == "process":
                    v["map_tps"] = map_chunked(ex, m, 1000)
                if r >= 0:
                    for key, x in v.items():
                        figs[key].append(x)
        for key, xs in figs.items():
            print(f"py {kind} {key} {statistics.median(xs):.6g}", flush=True)
    print(f"py version {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
