# GMP helpers (library mpifutures_gmp) and the mf-factorial program.
# Included by the top CMakeLists.txt after the core targets exist; skipped,
# with a message, when GMP is not found.

find_path(GMP_INCLUDE_DIR gmp.h)
find_library(GMP_LIBRARY gmp)
if(NOT GMP_INCLUDE_DIR OR NOT GMP_LIBRARY)
  message(STATUS "mpifutures: GMP not found (gmp.h/libgmp): skipping "
                 "mpifutures_gmp and mf-factorial (install libgmp-dev)")
  set(MF_HAVE_GMP OFF)
  return()
endif()
set(MF_HAVE_GMP ON)
message(STATUS "mpifutures: GMP ${GMP_LIBRARY}")

if(NOT TARGET mf_gmp_lib)
  add_library(mf_gmp_lib INTERFACE)
  target_include_directories(mf_gmp_lib INTERFACE $<BUILD_INTERFACE:${GMP_INCLUDE_DIR}>)
  target_link_libraries(mf_gmp_lib INTERFACE $<BUILD_INTERFACE:${GMP_LIBRARY}>)
endif()

# The helpers: shared and static, like the core.
foreach(kind SHARED STATIC)
  if(kind STREQUAL "SHARED")
    set(t mpifutures_gmp)
    set(core mpifutures)
  else()
    set(t mpifutures_gmp_static)
    set(core mpifutures_static)
  endif()
  add_library(${t} ${kind} ${CMAKE_CURRENT_SOURCE_DIR}/src/gmp.c)
  set_target_properties(${t} PROPERTIES C_VISIBILITY_PRESET hidden
                        POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${t} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    $<BUILD_INTERFACE:${GMP_INCLUDE_DIR}>)
  target_link_libraries(${t} PUBLIC ${core}
    $<BUILD_INTERFACE:${GMP_LIBRARY}> $<INSTALL_INTERFACE:gmp>)
endforeach()
set_target_properties(mpifutures_gmp PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
set_target_properties(mpifutures_gmp_static PROPERTIES OUTPUT_NAME mpifutures_gmp)
add_library(mpifutures::mpifutures_gmp ALIAS mpifutures_gmp)
add_library(mpifutures::mpifutures_gmp_static ALIAS mpifutures_gmp_static)

# The number theory of mf-factorial, shared by the program and its tests.
add_library(mf_factorial_math STATIC ${CMAKE_CURRENT_SOURCE_DIR}/src/factorial_math.c)
target_include_directories(mf_factorial_math PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/src $<BUILD_INTERFACE:${GMP_INCLUDE_DIR}>)
find_library(MF_LIBM m)
target_link_libraries(mf_factorial_math PUBLIC ${GMP_LIBRARY} Threads::Threads)
if(MF_LIBM)
  target_link_libraries(mf_factorial_math PUBLIC ${MF_LIBM})
endif()

add_executable(mf-factorial ${CMAKE_CURRENT_SOURCE_DIR}/src/factorial.c)
target_link_libraries(mf-factorial PRIVATE mpifutures_gmp_static mpifutures_static
                      mf_factorial_math)

install(TARGETS mpifutures_gmp mpifutures_gmp_static
        EXPORT mpifutures-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS mf-factorial RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/mpifutures/gmp.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mpifutures)
