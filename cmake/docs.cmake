# API reference with Doxygen (included from the top CMakeLists.txt).
#
# When doxygen (1.9.4 or newer: Debian 12's) is found, the target `docs`
# builds the HTML reference from the public headers and docs/*.md into
# ${CMAKE_BINARY_DIR}/docs/html (open index.html). It is part of ALL, and
# re-runs only when a header, a page or the configuration changed (about a
# second). With MF_WERROR ON (the default) any doxygen warning fails the
# build, as compiler warnings do; tests/docs checks the same strictly
# whatever MF_WERROR says.
# Without doxygen, or with -DMF_DOCS=OFF, the reference is skipped with a
# STATUS message.
#
# Sets for tests/docs: MF_DOCS_ENABLED, MF_DOCS_DOXYFILE (the configured
# Doxyfile) and DOXYGEN_EXECUTABLE.

option(MF_DOCS "Build the API reference with doxygen when it is found" ON)
set(MF_DOCS_ENABLED FALSE)
set(MF_DOCS_DOXYFILE "")

if(NOT MF_DOCS)
  message(STATUS "mpifutures: API reference disabled (MF_DOCS=OFF)")
  return()
endif()

find_package(Doxygen 1.9.4 QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "mpifutures: doxygen 1.9.4 or newer not found: no API "
                 "reference (Debian: apt-get install doxygen)")
  return()
endif()

set(MF_DOCS_OUT_DIR "${CMAKE_BINARY_DIR}/docs")
set(MF_DOCS_GEN_DIR "${CMAKE_BINARY_DIR}/docs/gen")
if(MF_WERROR)
  set(MF_DOCS_WARN_AS_ERROR FAIL_ON_WARNINGS)
else()
  set(MF_DOCS_WARN_AS_ERROR NO)
endif()
set(MF_DOCS_DOXYFILE "${MF_DOCS_OUT_DIR}/Doxyfile")
configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${MF_DOCS_DOXYFILE}"
               @ONLY)

# What the reference is made of (a new file re-runs the configuration).
file(GLOB_RECURSE _mf_docs_headers CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/include/*.h")
file(GLOB _mf_docs_pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md"
     "${PROJECT_SOURCE_DIR}/docs/*.dox")

# Documentation of each error code, generated from MF_ERROR_TABLE.
add_custom_command(
  OUTPUT "${MF_DOCS_GEN_DIR}/errors.dox"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${MF_DOCS_GEN_DIR}"
  COMMAND "${CMAKE_COMMAND}"
          "-DHEADER=${PROJECT_SOURCE_DIR}/include/mpifutures.h"
          "-DOUT=${MF_DOCS_GEN_DIR}/errors.dox"
          -P "${PROJECT_SOURCE_DIR}/docs/errors_dox.cmake"
  DEPENDS "${PROJECT_SOURCE_DIR}/include/mpifutures.h"
          "${PROJECT_SOURCE_DIR}/docs/errors_dox.cmake"
          "${PROJECT_SOURCE_DIR}/docs/error_table.cmake"
  COMMENT "Documenting the error codes of MF_ERROR_TABLE"
  VERBATIM)

# The stamp is written only when doxygen succeeds, so a failed run (a
# warning, with MF_WERROR) is retried by the next build.
add_custom_command(
  OUTPUT "${MF_DOCS_OUT_DIR}/html.stamp"
  COMMAND "${CMAKE_COMMAND}" -E remove_directory "${MF_DOCS_OUT_DIR}/html"
  COMMAND Doxygen::doxygen "${MF_DOCS_DOXYFILE}"
  COMMAND "${CMAKE_COMMAND}" -E touch "${MF_DOCS_OUT_DIR}/html.stamp"
  DEPENDS "${MF_DOCS_DOXYFILE}" "${MF_DOCS_GEN_DIR}/errors.dox"
          ${_mf_docs_headers} ${_mf_docs_pages}
  WORKING_DIRECTORY "${MF_DOCS_OUT_DIR}"
  COMMENT "API reference (doxygen): ${MF_DOCS_OUT_DIR}/html/index.html"
  VERBATIM)
add_custom_target(docs ALL DEPENDS "${MF_DOCS_OUT_DIR}/html.stamp")

set(MF_DOCS_ENABLED TRUE)
message(STATUS "mpifutures: API reference with doxygen "
               "${DOXYGEN_VERSION} (target docs, ${MF_DOCS_OUT_DIR}/html)")
