#!/usr/bin/env bash
# tests/cluster/run_local.sh — scripts/run-local with this build's MPI
# (Open MPI or MPICH): the launcher it picks, the rank count, the flags it
# adds (and does not add twice), root handling, flags with values passed
# through, and real runs of mf-factorial checked against fact_expect.
#
#   run_local.sh ROOT MF_FACTORIAL FACT_EXPECT
set -u
ROOT=$1 FACT=$2 EXPECT=$3
# shellcheck source=lib.sh
. "$ROOT/tests/cluster/lib.sh"
RL=$ROOT/scripts/run-local
[ -x "$FACT" ] || skip "mf-factorial not built (needs GMP)"
unset MPIEXEC MF_NP

if ldd "$FACT" | grep -q libmpich; then mpi=mpich; launcher=mpiexec.mpich
else mpi=openmpi; launcher=mpiexec.openmpi; fi
command -v "$launcher" >/dev/null || skip "$launcher not installed"
cpus=$(nproc)
say "build uses $mpi; $cpus CPUs"

dry() { "$RL" --dry-run "$@" 2>&1; }
has() { [[ " $1 " == *" $2 "* ]]; }
count() { grep -o -e "$2" <<<"$1" | wc -l; }

c=$(dry "$FACT")
check "default: $launcher with CPUs+1 = $((cpus + 1)) ranks ($c)" has "$c" "$launcher -n $((cpus + 1))"
c=$(dry -n 2 "$FACT" 5)
check "-n 2: 2 ranks, program and args last ($c)" has "$c" "-n 2"
[[ "$c" == *" $FACT 5" ]] && ok "program arguments kept" || bad "program arguments: $c"
c=$(dry -n $((cpus + 3)) "$FACT")
if [ "$mpi" = openmpi ]; then
    check "more ranks than cores: --oversubscribe --bind-to none ($c)" has "$c" "--oversubscribe --bind-to none"
    if [ "$(id -u)" -eq 0 ]; then
        check "root: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" \
            has "$c" "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    fi
    c=$(dry -n $((cpus + 3)) --bind-to core:overload-allowed "$FACT")
    check "user's --bind-to wins, not given twice ($c)" \
        test "$(count "$c" '--bind-to')" = 1 -a "$(count "$c" 'core:overload-allowed')" = 1
    c=$(dry -n 3 --mca btl self,vader,tcp -x MF_WINDOW "$FACT" 7)
    check "flags with values pass through, program found after them ($c)" \
        has "$c" "$launcher -n 3 --oversubscribe --bind-to none --mca btl self,vader,tcp -x MF_WINDOW $FACT 7"
    c=$(dry -n 2 "$FACT")
    check "ranks <= cores: no --oversubscribe ($c)" bash -c "[[ '$c' != *oversubscribe* ]]"
    runflags=(--mca btl self,vader -x MF_WINDOW)
else
    check "MPICH: no Open MPI flags or variables ($c)" \
        bash -c "[[ '$c' != *oversubscribe* && '$c' != *OMPI_* ]]"
    c=$(dry -n 3 -genv MF_WINDOW 4 -ppn 3 "$FACT" 7)
    check "flags with values pass through, program found after them ($c)" \
        has "$c" "$launcher -n 3 -genv MF_WINDOW 4 -ppn 3 $FACT 7"
    runflags=(-genv MF_WINDOW 4)
fi
c=$(MPIEXEC=/bin/echo "$RL" --dry-run -n 2 "$FACT")
check "MPIEXEC overrides the launcher ($c)" has "$c" "/bin/echo -n 2"
"$RL" -n 0 "$FACT" >/dev/null 2>&1; rc=$?
check "-n 0 refused (exit $rc)" test "$rc" -ne 0

# Real runs, checked against the independent oracle.
want=$("$EXPECT" 0 1 10 100 1000 20000)
export MF_WINDOW=4
for np in 2 $((cpus + 2)); do
    t=$EPOCHREALTIME
    got=$(timeout 120 "$RL" -q -n "$np" "${runflags[@]}" "$FACT" --quiet 0 1 10 100 1000 20000 2>&1)
    rc=$?
    sum=$(grep '^summary: ' <<<"$got" | sed 's/ seconds=.*//')
    if [ "$rc" = 0 ] && [ "$sum" = "$want" ]; then
        ok "run-local -n $np ${runflags[*]} mf-factorial: $sum ($(elapsed_since "$t") s)"
    else
        bad "run-local -n $np: rc=$rc, '$sum', want '$want'"
        echo "$got" | tail -n 15
    fi
done
finish
