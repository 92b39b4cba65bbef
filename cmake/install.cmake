# Install rules: libraries, public header, pkg-config file and CMake package.
#
# Included by the top CMakeLists.txt after the library targets (and the
# optional GMP targets of cmake/gmp_targets.cmake) are defined.
#
# Installed layout (relative to the prefix):
#   include/mpifutures.h
#   <libdir>/libmpifutures.so*, <libdir>/libmpifutures.a
#   <libdir>/pkgconfig/mpifutures.pc
#   <libdir>/cmake/mpifutures/mpifutures-{config,config-version,targets*}.cmake
#
# Other parts of the build may add targets to the export set
# `mpifutures-targets` (install(TARGETS ... EXPORT mpifutures-targets)).
# If such a target needs more in the consumer than MPI and Threads (an
# imported target, say), put the CMake code that provides it into the
# variable MF_CONFIG_EXTRA before this file is included; it is pasted into
# mpifutures-config.cmake before the targets file is loaded. Targets that
# link libraries by plain name (e.g. `gmp`) need nothing.

include(CMakePackageConfigHelpers)

set(MF_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mpifutures"
    CACHE STRING "Where the CMake package files are installed")
set(MF_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
    CACHE STRING "Where mpifutures.pc is installed")

install(TARGETS mpifutures mpifutures_static
  EXPORT mpifutures-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/mpifutures.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT mpifutures-targets
  NAMESPACE mpifutures::
  FILE mpifutures-targets.cmake
  DESTINATION ${MF_INSTALL_CMAKEDIR})

# ---- Which MPI the library was built with --------------------------------
# The pkg-config module of that MPI (Debian: ompi-c for Open MPI, mpich for
# MPICH) goes into `Requires:` of mpifutures.pc, so that
#   mpicc $(pkg-config --cflags --libs mpifutures) prog.c
# and even a plain `cc` instead of mpicc both work.
set(_mf_mpi_id "${MPI_C_LIBRARY_VERSION_STRING} ${MPI_C_LIBRARIES} ${MPI_C_COMPILER}")
if(_mf_mpi_id MATCHES "Open MPI|openmpi|libmpi\\.so")
  set(_mf_mpi_pc_default "ompi-c")
elseif(_mf_mpi_id MATCHES "MPICH|mpich")
  set(_mf_mpi_pc_default "mpich")
else()
  set(_mf_mpi_pc_default "")
endif()
set(MF_PC_MPI_MODULE "${_mf_mpi_pc_default}" CACHE STRING
    "pkg-config module of the MPI in use, for Requires: of mpifutures.pc (empty: none)")
if(MF_PC_MPI_MODULE)
  set(MF_PC_REQUIRES "Requires: ${MF_PC_MPI_MODULE}")
else()
  set(MF_PC_REQUIRES "# No pkg-config module known for this MPI: compile with mpicc.")
endif()

# Relocatable .pc: the prefix is found from the file's own location, so
# `cmake --install build --prefix DIR` gives a working file in any DIR.
if(IS_ABSOLUTE "${MF_INSTALL_PKGCONFIGDIR}")
  set(MF_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _mf_pc_up "/mf/${MF_INSTALL_PKGCONFIGDIR}" "/mf")
  string(REGEX REPLACE "/$" "" _mf_pc_up "${_mf_pc_up}")
  set(MF_PC_PREFIX "\${pcfiledir}/${_mf_pc_up}")
endif()
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(MF_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(MF_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/mpifutures.pc.in
               ${PROJECT_BINARY_DIR}/mpifutures.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpifutures.pc
        DESTINATION ${MF_INSTALL_PKGCONFIGDIR})

# ---- CMake package -------------------------------------------------------
if(NOT DEFINED MF_CONFIG_EXTRA)
  set(MF_CONFIG_EXTRA "")
endif()
# Record the MPI-specific wrapper, not Debian's alternatives link
# /usr/bin/mpicc (which may later point to another MPI): follow the chain
# of links and keep the last one still named mpicc* (the end of the chain,
# e.g. opal_wrapper, only works under its mpicc name).
set(MF_CONFIG_MPI_C_COMPILER "${MPI_C_COMPILER}")
set(_mf_link "${MPI_C_COMPILER}")
foreach(_i RANGE 8)
  if(NOT IS_SYMLINK "${_mf_link}")
    break()
  endif()
  file(READ_SYMLINK "${_mf_link}" _mf_target)
  if(NOT IS_ABSOLUTE "${_mf_target}")
    get_filename_component(_mf_dir "${_mf_link}" DIRECTORY)
    set(_mf_target "${_mf_dir}/${_mf_target}")
  endif()
  set(_mf_link "${_mf_target}")
  get_filename_component(_mf_name "${_mf_link}" NAME)
  if(_mf_name MATCHES "^mpicc")
    set(MF_CONFIG_MPI_C_COMPILER "${_mf_link}")
  endif()
endforeach()
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/mpifutures-config.cmake.in
  ${PROJECT_BINARY_DIR}/mpifutures-config.cmake
  INSTALL_DESTINATION ${MF_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/mpifutures-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpifutures-config.cmake
              ${PROJECT_BINARY_DIR}/mpifutures-config-version.cmake
        DESTINATION ${MF_INSTALL_CMAKEDIR})
