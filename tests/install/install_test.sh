#!/usr/bin/env bash
# Tests of the installed library, run by CTest (see CMakeLists.txt here).
#
#   install_test.sh package  — install the build into a fresh prefix and
#       check it: files, header, exported symbols of libmpifutures.so (and
#       libmpifutures_gmp.so if built): exactly the MF_API functions of their
#       header, all mf_-prefixed; mpifutures.pc; and that
#       find_package(mpifutures) works in an outside CMake project.
#   install_test.sh consumer — install, then build tests/install/consumer
#       twice (mpicc + pkg-config; CMake find_package, shared and static)
#       and run each on 2 ranks under the MPI launcher.
#
# Configuration comes from the environment (set by CMakeLists.txt):
#   MF_BUILD_DIR MF_SOURCE_DIR MF_WORK_DIR CMAKE_COMMAND MF_C_COMPILER
#   MF_MPI_C_COMPILER MF_MPIEXEC MF_MPIEXEC_NUMPROC_FLAG MF_MPI_FLAVOUR
#   MF_PROJECT_VERSION MF_SANITIZE (the build's sanitizers: the outside
#   programs are built with them too, as they must be to link)
set -euo pipefail

mode="${1:?usage: install_test.sh package|consumer}"
: "${MF_BUILD_DIR:?}" "${MF_SOURCE_DIR:?}" "${MF_WORK_DIR:?}" "${CMAKE_COMMAND:?}"
: "${MF_MPI_C_COMPILER:?}" "${MF_MPIEXEC:?}" "${MF_MPI_FLAVOUR:?}"
: "${MF_PROJECT_VERSION:?}"
NPFLAG="${MF_MPIEXEC_NUMPROC_FLAG:--n}"
SAN_FLAGS=()
if [ -n "${MF_SANITIZE:-}" ]; then
    SAN_FLAGS=(-fsanitize="$MF_SANITIZE" -fno-omit-frame-pointer)
    # MPI libraries leak by design at exit; leaks are not what this tests.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
fi

failures=0
step() { echo "--- $*"; }
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
good() { echo "ok: $*"; }

work="$MF_WORK_DIR/$mode"
prefix="$work/prefix"
rm -rf "$work"
mkdir -p "$work"

# ---- install ---------------------------------------------------------------
step "cmake --install $MF_BUILD_DIR --prefix $prefix"
"$CMAKE_COMMAND" --install "$MF_BUILD_DIR" --prefix "$prefix" >"$work/install.log" 2>&1 || {
    cat "$work/install.log"; echo "FAIL: cmake --install failed"; exit 1; }

find_one() {  # find_one <name>: the one file called <name> under the prefix
    find "$prefix" -name "$1" \( -type f -o -type l \) | head -n 1
}
header="$prefix/include/mpifutures.h"
so=$(find_one libmpifutures.so)
ar=$(find_one libmpifutures.a)
pc=$(find_one mpifutures.pc)
cfg=$(find_one mpifutures-config.cmake)
for f in "$header" "$so" "$ar" "$pc" "$cfg"; do
    [ -n "$f" ] && [ -e "$f" ] || { echo "FAIL: installed files missing:"; find "$prefix"; exit 1; }
done
good "installed: ${header#$prefix/} ${so#$prefix/} ${ar#$prefix/} ${pc#$prefix/} ${cfg#$prefix/}"
pcdir=$(dirname "$pc")
libdir=$(dirname "$so")

run_ranks() {  # run_ranks <n> <exe>: the program under the launcher
    local n="$1"; shift
    local flags=()
    if [ "$MF_MPI_FLAVOUR" = openmpi ]; then
        flags=(--oversubscribe --bind-to none)
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    echo "+ $MF_MPIEXEC $NPFLAG $n ${flags[*]} $*"
    "$MF_MPIEXEC" "$NPFLAG" "$n" "${flags[@]}" "$@"
}

# The MPI library a binary is linked with must be this build's MPI.
check_mpi_linkage() {  # check_mpi_linkage <binary>
    local deps
    deps=$(ldd "$1" | grep -E 'libmpi|libmpich' || true)
    case "$MF_MPI_FLAVOUR" in
        openmpi) grep -q 'libmpi\.so' <<<"$deps" && ! grep -q libmpich <<<"$deps" ;;
        mpich) grep -q 'libmpich\.so' <<<"$deps" && ! grep -q 'libmpi\.so\.40' <<<"$deps" ;;
        *) true ;;
    esac || { bad "$(basename "$1") is not linked with $MF_MPI_FLAVOUR's MPI: $deps"; return 1; }
    good "$(basename "$1") links $(awk '{print $1}' <<<"$deps" | tr '\n' ' ')"
}

check_output() {  # check_output <log>
    if grep -q "^consumer: mpifutures $MF_PROJECT_VERSION, [0-9]* worker(s), triple(14) = 42: OK$" "$1"; then
        good "$(grep '^consumer:' "$1")"
    else
        bad "unexpected output:"; sed 's/^/    /' "$1"
    fi
}

if [ "$mode" = package ]; then
    # ---- header -----------------------------------------------------------
    if cmp -s "$header" "$MF_SOURCE_DIR/include/mpifutures.h"; then
        good "installed header is include/mpifutures.h"
    else
        bad "installed header differs from include/mpifutures.h"
    fi

    # ---- README example ------------------------------------------------------
    # The README's C example must be tests/install/consumer/readme_example.c
    # (built and run by the consumer test).
    readme="$MF_SOURCE_DIR/README.md"
    if [ -f "$readme" ]; then
        awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' "$readme" >"$work/readme.c"
        if cmp -s "$work/readme.c" "$MF_SOURCE_DIR/tests/install/consumer/readme_example.c"; then
            good "README.md's example is tests/install/consumer/readme_example.c"
        else
            bad "README.md's C example differs from tests/install/consumer/readme_example.c:"
            diff "$work/readme.c" "$MF_SOURCE_DIR/tests/install/consumer/readme_example.c" | head -n 20
        fi
    fi

    # ---- exported symbols --------------------------------------------------
    # check_exports <shared library> <its public header>: the library exports
    # exactly the header's MF_API functions, all mf_-prefixed.
    check_exports() {
        local lib="$1" hdr="$2" tag
        tag=$(basename "$lib" .so)
        step "symbols exported by ${lib#$prefix/} (nm -D --defined-only)"
        nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u >"$work/$tag.exported"
        grep -E '^MF_API' "$hdr" | grep -oE '\bmf_[a-z0-9_]+\(' | tr -d '(' \
            | sort -u >"$work/$tag.api"
        # Names the linker itself defines in every shared object.
        grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' "$work/$tag.exported" \
            >"$work/$tag.real" || true
        local outside extra missing
        outside=$(grep -v '^mf_' "$work/$tag.real" || true)
        if [ -n "$outside" ]; then
            bad "$tag exports symbols without the mf_ prefix: $(echo $outside)"
        else
            good "all $(wc -l <"$work/$tag.real") symbols exported by $tag start with mf_"
        fi
        extra=$(comm -23 "$work/$tag.real" "$work/$tag.api" | grep '^mf_' || true)
        missing=$(comm -13 "$work/$tag.real" "$work/$tag.api" || true)
        if [ -n "$extra" ]; then
            bad "$tag exports functions not declared MF_API in $(basename "$hdr"): $(echo $extra)"
        fi
        if [ -n "$missing" ]; then
            bad "declared MF_API in $(basename "$hdr") but not exported by $tag (not implemented?): $(echo $missing)"
        fi
        if [ -z "$extra" ] && [ -z "$missing" ]; then
            good "$tag exports exactly the $(wc -l <"$work/$tag.api") MF_API functions of $(basename "$hdr")"
        fi
    }
    check_exports "$so" "$header"
    # The GMP helpers, when this build has them.
    gmp_so=$(find_one libmpifutures_gmp.so)
    if [ -n "$gmp_so" ]; then
        gmp_h="$prefix/include/mpifutures/gmp.h"
        if [ -f "$gmp_h" ]; then
            check_exports "$gmp_so" "$gmp_h"
        else
            bad "libmpifutures_gmp.so is installed without include/mpifutures/gmp.h"
        fi
    fi
    # Global names of the static library may clash with a user's: report
    # the ones without a project prefix (information, not a failure).
    nm -g --defined-only "$ar" 2>/dev/null | awk 'NF == 3 {print $3}' \
        | grep -vE '^(mf_|mfi_|mf[a-z]*_|MF_|_mf)' | sort -u >"$work/static-unprefixed.txt" || true
    if [ -s "$work/static-unprefixed.txt" ]; then
        echo "note: global symbols of libmpifutures.a without an mf prefix: $(tr '\n' ' ' <"$work/static-unprefixed.txt")"
    fi

    # ---- pkg-config ---------------------------------------------------------
    step "pkg-config (PKG_CONFIG_PATH=${pcdir#$prefix/})"
    export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    if ver=$(pkg-config --modversion mpifutures) && [ "$ver" = "$MF_PROJECT_VERSION" ]; then
        good "pkg-config --modversion mpifutures = $ver"
    else
        bad "pkg-config --modversion mpifutures gave '${ver:-}' (want $MF_PROJECT_VERSION)"
    fi
    if flags=$(pkg-config --cflags --libs mpifutures); then
        good "pkg-config --cflags --libs mpifutures = $flags"
        # The flags must point into this prefix (the .pc is relocatable).
        inc=$(pkg-config --variable=includedir mpifutures)
        lib=$(pkg-config --variable=libdir mpifutures)
        if [ "$(cd "$inc" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] \
           && [ "$(cd "$lib" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ]; then
            good "includedir and libdir point into the prefix"
        else
            bad "includedir=$inc libdir=$lib do not point into $prefix"
        fi
    else
        bad "pkg-config --cflags --libs mpifutures failed"
    fi
    # Compile (not link) against the installed header with the pkg-config
    # flags and a plain C compiler: the MPI include path comes from the
    # Requires: of the .pc.
    printf '#include <mpifutures.h>\nint main(void) { return MF_OK; }\n' >"$work/hdr.c"
    if "${MF_C_COMPILER:-cc}" -std=c11 -Wall -Wextra -Werror -c "$work/hdr.c" \
            -o "$work/hdr.o" $(pkg-config --cflags mpifutures); then
        good "a plain C compiler builds against the header with pkg-config --cflags"
    else
        bad "cc \$(pkg-config --cflags mpifutures) cannot compile against the header"
    fi

    # ---- CMake package ---------------------------------------------------------
    step "find_package(mpifutures) in an outside project"
    mkdir -p "$work/findpkg"
    cat >"$work/findpkg/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(findpkg LANGUAGES C)
find_package(mpifutures 0.1 REQUIRED)
foreach(t mpifutures::mpifutures mpifutures::mpifutures_static MPI::MPI_C)
  if(NOT TARGET ${t})
    message(FATAL_ERROR "target ${t} missing")
  endif()
endforeach()
if(MF_EXPECT_GMP AND NOT TARGET mpifutures::mpifutures_gmp)
  message(FATAL_ERROR "target mpifutures::mpifutures_gmp missing")
endif()
get_target_property(_inc mpifutures::mpifutures INTERFACE_INCLUDE_DIRECTORIES)
message(STATUS "findpkg: mpifutures ${mpifutures_VERSION} from ${mpifutures_DIR}, include ${_inc}")
message(STATUS "findpkg-mpi: ${MPI_C_LIBRARIES}")
EOF
    if "$CMAKE_COMMAND" -S "$work/findpkg" -B "$work/findpkg/build" \
            -DCMAKE_C_COMPILER="${MF_C_COMPILER:-cc}" \
            -DMF_EXPECT_GMP="$([ -n "$gmp_so" ] && echo ON || echo OFF)" \
            -DCMAKE_PREFIX_PATH="$prefix" >"$work/findpkg.log" 2>&1; then
        [ -n "$gmp_so" ] && good "find_package gives mpifutures::mpifutures_gmp too"
        line=$(grep 'findpkg:' "$work/findpkg.log" || true)
        case "$line" in
            *"from $prefix/"*) good "${line#-- }" ;;
            *) bad "find_package found another mpifutures: $line" ;;
        esac
        # Without MPI_C_COMPILER given, the package must pick the MPI the
        # library was built with.
        mpiline=$(grep 'findpkg-mpi:' "$work/findpkg.log" || true)
        case "$MF_MPI_FLAVOUR:$mpiline" in
            openmpi:*openmpi*|mpich:*libmpich*) good "it brings this build's MPI: ${mpiline#*: }" ;;
            *) bad "find_package(mpifutures) chose another MPI than $MF_MPI_FLAVOUR: ${mpiline#*: }" ;;
        esac
    else
        cat "$work/findpkg.log"
        bad "find_package(mpifutures) failed"
    fi
    # A version the package must refuse.
    sed -i 's/find_package(mpifutures 0.1 REQUIRED)/find_package(mpifutures 9.0 REQUIRED)/' \
        "$work/findpkg/CMakeLists.txt"
    if "$CMAKE_COMMAND" -S "$work/findpkg" -B "$work/findpkg/build9" \
            -DCMAKE_PREFIX_PATH="$prefix" >"$work/findpkg9.log" 2>&1; then
        bad "find_package(mpifutures 9.0) succeeded against version $MF_PROJECT_VERSION"
    elif grep -q 'compatible with requested version "9.0"' "$work/findpkg9.log"; then
        good "find_package(mpifutures 9.0) is refused (version $MF_PROJECT_VERSION installed)"
    else
        cat "$work/findpkg9.log"
        bad "find_package(mpifutures 9.0) failed, but not for the version"
    fi

elif [ "$mode" = consumer ]; then
    src="$MF_SOURCE_DIR/tests/install/consumer"

    # ---- pkg-config + mpicc -----------------------------------------------------
    step "build with $MF_MPI_C_COMPILER and pkg-config"
    export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    flags=$(pkg-config --cflags --libs mpifutures)
    echo "+ $MF_MPI_C_COMPILER consumer.c $flags -Wl,-rpath,$libdir"
    if "$MF_MPI_C_COMPILER" -std=c11 -Wall -Wextra -Werror "${SAN_FLAGS[@]}" "$src/consumer.c" \
            -o "$work/consumer_pc" $flags -Wl,-rpath,"$libdir"; then
        good "built consumer_pc"
        check_mpi_linkage "$work/consumer_pc" || true
        if grep -qF "$libdir/libmpifutures.so" <<<"$(ldd "$work/consumer_pc")"; then
            good "consumer_pc uses the installed libmpifutures.so"
        else
            bad "consumer_pc does not use $libdir/libmpifutures.so: $(ldd "$work/consumer_pc" | grep mpifutures)"
        fi
        step "run consumer_pc on 2 ranks"
        if run_ranks 2 "$work/consumer_pc" >"$work/run_pc.log" 2>&1; then
            check_output "$work/run_pc.log"
        else
            bad "consumer_pc failed:"; sed 's/^/    /' "$work/run_pc.log"
        fi
    else
        bad "consumer.c does not build with pkg-config"
    fi

    # The README's example, built the way the README says.
    step "build and run the README example (mpicc + pkg-config)"
    if "$MF_MPI_C_COMPILER" -std=c11 -Wall -Wextra -Werror "${SAN_FLAGS[@]}" "$src/readme_example.c" \
            -o "$work/readme_example" $flags -Wl,-rpath,"$libdir"; then
        if run_ranks 3 "$work/readme_example" >"$work/run_readme.log" 2>&1 \
           && grep -qx 'square(12) = 144' "$work/run_readme.log"; then
            good "README example on 3 ranks printed: square(12) = 144"
        else
            bad "README example failed:"; sed 's/^/    /' "$work/run_readme.log"
        fi
    else
        bad "the README example does not build"
    fi

    # The examples of tests/install/examples, built the same way and run
    # on 3 ranks, each output checked.
    exdir="$MF_SOURCE_DIR/tests/install/examples"
    for ex in sweep wordcount failfast pipeline; do
        step "build the example $ex (mpicc + pkg-config)"
        # shellcheck disable=SC2086 # $flags is pkg-config's word list
        if ! "$MF_MPI_C_COMPILER" -std=c11 -Wall -Wextra -Werror "${SAN_FLAGS[@]}" \
                "$exdir/$ex.c" -o "$work/$ex" $flags -Wl,-rpath,"$libdir"; then
            bad "the example $ex does not build"
            continue
        fi
    done
    if [ -x "$work/sweep" ]; then
        step "run sweep on 3 ranks (a 4x4 grid)"
        if run_ranks 3 "$work/sweep" 4 >"$work/sweep.csv" 2>"$work/sweep.err" \
           && [ "$(grep -c '^[0-9.]*,[0-9.]*,[0-9.]*$' "$work/sweep.csv")" = 16 ] \
           && grep -qx '2.500,0.100,0.600000' "$work/sweep.csv"; then
            good "sweep wrote 16 CSV rows in grid order"
        else
            bad "sweep:"; cat "$work/sweep.csv" "$work/sweep.err" | sed 's/^/    /'
        fi
    fi
    if [ -x "$work/wordcount" ]; then
        step "run wordcount on 3 ranks over a small tree"
        mkdir -p "$work/tree/a/b"
        printf 'one two three\n' >"$work/tree/a/x.txt"
        printf 'four  five\n\tsix seven\n' >"$work/tree/a/b/y.txt"
        : >"$work/tree/empty"
        if run_ranks 3 "$work/wordcount" "$work/tree" >"$work/wc.log" 2>&1 \
           && grep -Eq '^ +7 total$' "$work/wc.log" \
           && grep -Eq '^ +4 .*/y\.txt$' "$work/wc.log"; then
            good "wordcount counted 7 words in 3 files"
        else
            bad "wordcount:"; sed 's/^/    /' "$work/wc.log"
        fi
    fi
    if [ -x "$work/failfast" ]; then
        step "run failfast on 3 ranks, stage 7 failing"
        run_ranks 3 "$work/failfast" 7 >"$work/ff.log" 2>&1 || true  # exits 1: a stage failed
        if grep -Eq '^stage 7 failed on rank [12] \([^)]+\): stage 7: input rejected; ([1-9][0-9]*) stages cancelled$' "$work/ff.log"; then
            good "failfast stopped at stage 7 and cancelled the stages not started"
        else
            bad "failfast:"; sed 's/^/    /' "$work/ff.log"
        fi
    fi
    if [ -x "$work/pipeline" ]; then
        step "run pipeline (a completion queue, window 8) on 3 ranks and alone"
        if run_ranks 3 "$work/pipeline" 20000 8 >"$work/pl.log" 2>&1 \
           && grep -qx 'pipeline: 20000 tasks, window 8, sum of squares 2666466670000 (right)' "$work/pl.log" \
           && "$work/pipeline" 3000 3 >"$work/pl1.log" 2>&1 \
           && grep -qx 'pipeline: 3000 tasks, window 3, sum of squares 8995500500 (right)' "$work/pl1.log"; then
            good "pipeline kept 8 outstanding through 20000 tasks, and ran alone on a local pool"
        else
            bad "pipeline:"; cat "$work/pl.log" "$work/pl1.log" 2>/dev/null | sed 's/^/    /'
        fi
    fi

    # ---- CMake find_package ------------------------------------------------------
    # MPI_C_COMPILER is not given: the package must bring the MPI it was
    # built with by itself.
    step "build with CMake (find_package(mpifutures), CMAKE_PREFIX_PATH=prefix)"
    if "$CMAKE_COMMAND" -S "$src" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
            -DCMAKE_C_COMPILER="${MF_C_COMPILER:-cc}" \
            -DCMAKE_C_FLAGS="${SAN_FLAGS[*]}" \
            -DCMAKE_EXE_LINKER_FLAGS="${SAN_FLAGS[*]}" \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/cmake-configure.log" 2>&1 \
       && "$CMAKE_COMMAND" --build "$work/cmake" >"$work/cmake-build.log" 2>&1; then
        good "built consumer and consumer_static with CMake"
        for exe in consumer consumer_static; do
            check_mpi_linkage "$work/cmake/$exe" || true
            step "run $exe on 2 ranks"
            if run_ranks 2 "$work/cmake/$exe" >"$work/run_$exe.log" 2>&1; then
                check_output "$work/run_$exe.log"
            else
                bad "$exe failed:"; sed 's/^/    /' "$work/run_$exe.log"
            fi
        done
        if grep -q libmpifutures <<<"$(ldd "$work/cmake/consumer_static")"; then
            bad "consumer_static is linked with the shared libmpifutures"
        fi
    else
        cat "$work/cmake-configure.log" "$work/cmake-build.log" 2>/dev/null | tail -n 40
        bad "consumer does not configure/build with CMake"
    fi
else
    echo "unknown mode '$mode'"; exit 2
fi

if [ "$failures" -gt 0 ]; then
    echo "install test ($mode): $failures check(s) FAILED"
    exit 1
fi
echo "install test ($mode): all checks passed"
