"""mpi4py.futures side of scripts/bench: the same figures as mf-bench's
round-trip and throughput rows, for comparison in one run.

    mpirun -n 2 python3 -m mpi4py.futures tests/perf/mpi4py_bench.py [--quick]
"""
import statistics, sys, time
from concurrent.futures import as_completed, wait
from mpi4py.futures import MPIPoolExecutor


def noop(*_):
    return None


def main():
    quick = "--quick" in sys.argv
    with MPIPoolExecutor() as ex:
        ex.submit(noop).result()          # warm up
        lat = []
        for _ in range(300 if quick else 2000):
            t = time.perf_counter()
            ex.submit(noop).result()
            lat.append(time.perf_counter() - t)
        lat.sort()
        print(f"mpi4py round trip median {statistics.median(lat)*1e6:.1f} us"
              f" p99 {lat[int(len(lat)*0.99)]*1e6:.1f} us")
        n = 2000 if quick else 10000
        t = time.perf_counter()
        fs = [ex.submit(noop) for _ in range(n)]
        wait(fs)
        print(f"mpi4py submit/result {n/(time.perf_counter()-t):.0f} tasks/s")
        t = time.perf_counter()
        fs = [ex.submit(noop) for _ in range(n)]
        for _ in as_completed(fs):
            pass
        print(f"mpi4py as_completed {n/(time.perf_counter()-t):.0f} tasks/s")
        m = 50000 if quick else 200000
        t = time.perf_counter()
        for _ in ex.map(noop, range(m), chunksize=1000):
            pass
        print(f"mpi4py map chunksize 1000 {m/(time.perf_counter()-t):.0f} tasks/s")


if __name__ == "__main__":
    main()
