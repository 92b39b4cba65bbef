"""Python baselines of scripts/bench-factorial: the same workload with
math.factorial, on ProcessPoolExecutor(2) or mpi4py.futures.

    python3 fact_py.py ppe [WORKERS]
    mpirun -n 3 python3 -m mpi4py.futures fact_py.py mpi

Each task returns (digits, n! mod 2^61-1); digits are exact (log10 from
the top 64 bits, with an exact comparison when too close to call). The pool
is warmed up before the clock starts. Prints the mf-factorial summary line.
"""
import math
import sys
import time

M = (1 << 61) - 1
LOG10_2 = math.log10(2)


def workload():
    light = [1000 + (i * 19000) // 1999 for i in range(2000)]
    heavy = [50000 + (i * 150000) // 63 for i in range(64)]
    return light + heavy


def summary(n):
    x = math.factorial(n)
    b = x.bit_length()
    s = max(b - 64, 0)
    est = math.log10(x >> s) + s * LOG10_2
    d = math.floor(est) + 1
    frac = est - math.floor(est)
    if frac < 1e-6 or frac > 1 - 1e-6:
        d = d - 1 if x < 10 ** (d - 1) else d
        if x >= 10 ** d:
            d += 1
    return d, x % M


def run(executor):
    list(executor.map(summary, [1, 2, 3, 4]))  # warm up every worker
    ns = workload()
    t0 = time.perf_counter()
    digits = 0
    checksum = 0
    for d, r in executor.map(summary, ns):
        digits += d
        checksum = (checksum + r) % M
    secs = time.perf_counter() - t0
    print(f"summary: count={len(ns)} digits={digits} checksum={checksum} "
          f"seconds={secs:.3f}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "ppe"
    if mode == "ppe":
        from concurrent.futures import ProcessPoolExecutor
        workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
        with ProcessPoolExecutor(workers) as ex:
            run(ex)
    elif mode == "mpi":
        from mpi4py.futures import MPIPoolExecutor
        with MPIPoolExecutor() as ex:
            run(ex)
    else:
        sys.exit("usage: fact_py.py ppe [WORKERS] | mpi")
