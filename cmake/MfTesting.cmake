# Helpers for tests that run under the MPI launcher.
#
# mf_add_mpi_test(NAME <name> NP <ranks> COMMAND <exe> [args...]
#                 [TIMEOUT <seconds>] [LABELS ...])
# Runs COMMAND on NP ranks. With Open MPI it adds --oversubscribe (ranks >
# cores here) and the variables that allow running as root; with MPICH no
# extra flags are needed. Every test gets a timeout so a hang fails it.

execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version
                OUTPUT_VARIABLE _mf_mpiexec_version ERROR_VARIABLE _mf_mpiexec_version)
if(_mf_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(MF_MPI_FLAVOUR "openmpi")
  set(MF_MPIEXEC_FLAGS --oversubscribe --bind-to none)
  set(MF_MPIEXEC_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_rmaps_base_oversubscribe=1)
else()
  set(MF_MPI_FLAVOUR "mpich")
  set(MF_MPIEXEC_FLAGS)
  set(MF_MPIEXEC_ENV)
endif()
message(STATUS "mpifutures: MPI launcher ${MPIEXEC_EXECUTABLE} (${MF_MPI_FLAVOUR})")

function(mf_add_mpi_test)
  cmake_parse_arguments(A "" "NAME;NP;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  add_test(NAME ${A_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${A_NP}
                   ${MF_MPIEXEC_FLAGS} ${MPIEXEC_PREFLAGS} ${A_COMMAND})
  set_tests_properties(${A_NAME} PROPERTIES TIMEOUT ${A_TIMEOUT}
                       ENVIRONMENT "${MF_MPIEXEC_ENV}"
                       LABELS "mpi;${A_LABELS}")
endfunction()
