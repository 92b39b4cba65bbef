#!/bin/sh
# run-fuzz.sh — bounded libFuzzer runs of the decoders, from any build.
#
#   run-fuzz.sh [--source DIR] [--build DIR] [--seconds N] [--mpicc PATH]
#               [--cc CLANG] [--jobs N]
#
# Configures this source tree with clang into --build (default: a
# directory under /tmp; reused, so later runs only rebuild what changed)
# as a fuzzing build (-DMF_FUZZ=ON -DMF_SANITIZE=address,undefined), builds
# only the fuzz targets, and runs its fuzz_run_* tests: each target for N
# seconds (default 20) from the committed corpus. Crashing inputs land in
# <build>/tests/fuzz/artifacts/<target>/.
#
# --mpicc names the MPI compiler wrapper whose MPI the build must use (the
# one the calling build found), so clang compiles against the same mpi.h.
#
# Exit status: 0 when every run ended without a finding, 1 on a finding or
# a failed build, 77 (skipped) when clang or its libFuzzer runtime is
# missing (Debian/Ubuntu: apt-get install clang libclang-rt-dev).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=""
seconds=20
mpicc=""
cc=""
jobs=2
while [ $# -gt 0 ]; do
    case "$1" in
    --source) src=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --mpicc) mpicc=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "run-fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

say() { echo "run-fuzz: $*"; }

if [ -z "$cc" ]; then
    for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$c" >/dev/null 2>&1; then
            cc=$(command -v "$c")
            break
        fi
    done
fi
if [ -z "$cc" ] || ! command -v "$cc" >/dev/null 2>&1; then
    say "SKIP: clang not found (Debian/Ubuntu: apt-get install clang libclang-rt-dev)"
    exit 77
fi

# libFuzzer's runtime is a separate package on Debian (libclang-rt-N-dev).
probe=$(mktemp -d "${TMPDIR:-/tmp}/mf-fuzz-probe.XXXXXX") || exit 1
cat >"$probe/t.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    return n > 0 && d[0] == 'x';
}
EOF
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/t.c" -o "$probe/t" \
    >"$probe/log" 2>&1; then
    say "SKIP: $cc cannot link -fsanitize=fuzzer,address,undefined" \
        "(libFuzzer runtime libclang_rt.fuzzer missing? Debian/Ubuntu:" \
        "apt-get install libclang-rt-dev, or libclang-rt-<version>-dev):"
    sed -n '1,5s/^/    /p' "$probe/log"
    rm -rf "$probe"
    exit 77
fi
rm -rf "$probe"

if [ -z "$build" ]; then
    build="${TMPDIR:-/tmp}/mpifutures-fuzz-$(id -u)"
fi
mkdir -p "$build" || exit 1
say "clang: $cc; build: $build; $seconds s per target"

set -- -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DMF_FUZZ=ON \
    -DMF_SANITIZE=address,undefined -DMF_WERROR=OFF \
    -DMF_FUZZ_SECONDS="$seconds" -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ -n "$mpicc" ]; then
    set -- "$@" -DMPI_C_COMPILER="$mpicc"
fi
if ! cmake "$@" >"$build/fuzz-configure.log" 2>&1; then
    say "FAILED: configuring the clang build; log: $build/fuzz-configure.log"
    tail -n 30 "$build/fuzz-configure.log"
    exit 1
fi
if ! cmake --build "$build" --target mf_fuzz_all -j "$jobs" \
    >"$build/fuzz-build.log" 2>&1; then
    say "FAILED: building the fuzz targets; log: $build/fuzz-build.log"
    tail -n 40 "$build/fuzz-build.log"
    exit 1
fi
say "built; fuzzing"
cd "$build" || exit 1
if ctest -L fuzz_run --output-on-failure; then
    say "no findings"
    exit 0
fi
say "FINDINGS: crashing inputs are in $build/tests/fuzz/artifacts/<target>/"
ls -l "$build"/tests/fuzz/artifacts/*/ 2>/dev/null
exit 1
