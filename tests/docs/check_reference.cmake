cmake_minimum_required(VERSION 3.18)
# cmake -DDOXYGEN=<doxygen> -DDOXYFILE=<build>/docs/Doxyfile
#       -DSOURCE_DIR=<project source> -DWORK_DIR=<scratch dir>
#       -P check_reference.cmake
#
# Builds the API reference from scratch into WORK_DIR with every warning an
# error (whatever MF_WERROR says), then checks that it is complete:
#  1. doxygen exits 0 with WARN_AS_ERROR=FAIL_ON_WARNINGS and writes no
#     warning at all;
#  2. every public header has a file page (doxygen only documents a file's
#     functions, macros and typedefs when the file itself is documented
#     with a @file comment, and says nothing when it is not), and that page
#     lists every MF_API function, #define MF_*, typedef and enum of the
#     header;
#  3. the pages docs/overview.md (main page), semantics.md and errors.md
#     are there;
#  4. the pages' markdown was understood (no unresolved .md links, no HTML
#     shown as text), which doxygen does not warn about.
foreach(v DOXYGEN DOXYFILE SOURCE_DIR WORK_DIR)
  if(NOT ${v})
    message(FATAL_ERROR "check_reference.cmake: -D${v}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/gen")
execute_process(
  COMMAND "${CMAKE_COMMAND}" "-DHEADER=${SOURCE_DIR}/include/mpifutures.h"
          "-DOUT=${WORK_DIR}/gen/errors.dox"
          -P "${SOURCE_DIR}/docs/errors_dox.cmake"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "docs/errors_dox.cmake failed (${rc})")
endif()

# The build's configuration, with the output and the generated input moved
# here and warnings fatal.
file(WRITE "${WORK_DIR}/Doxyfile"
  "@INCLUDE = \"${DOXYFILE}\"\n"
  "OUTPUT_DIRECTORY = \"${WORK_DIR}/out\"\n"
  "INPUT = \"${SOURCE_DIR}/include\" \"${SOURCE_DIR}/docs\" \"${WORK_DIR}/gen\"\n"
  "STRIP_FROM_PATH = \"${SOURCE_DIR}/include\" \"${SOURCE_DIR}\" \"${WORK_DIR}/gen\"\n"
  "STRIP_FROM_INC_PATH = \"${SOURCE_DIR}/include\"\n"
  "INCLUDE_PATH = \"${SOURCE_DIR}/include\"\n"
  "USE_MDFILE_AS_MAINPAGE = \"${SOURCE_DIR}/docs/overview.md\"\n"
  "WARN_AS_ERROR = FAIL_ON_WARNINGS\n"
  "WARN_LOGFILE = \"${WORK_DIR}/warnings.log\"\n")
execute_process(COMMAND "${DOXYGEN}" "${WORK_DIR}/Doxyfile"
                WORKING_DIRECTORY "${WORK_DIR}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(log "")
if(EXISTS "${WORK_DIR}/warnings.log")
  file(READ "${WORK_DIR}/warnings.log" log)
endif()
string(STRIP "${log}" log)
string(STRIP "${out}${err}" out)
if(NOT rc EQUAL 0 OR log OR out MATCHES "[Ww]arning")
  message(FATAL_ERROR
    "doxygen (${DOXYGEN}) exited with ${rc}; warnings:\n${log}\n"
    "output:\n${out}\n"
    "(run: ${DOXYGEN} ${WORK_DIR}/Doxyfile)")
endif()

set(html "${WORK_DIR}/out/html")
set(problems "")

# 2. File pages. Doxygen names them after the file (mpifutures_8h.html,
#    gmp_8h.html); find each header's page by its title ("gmp.h File
#    Reference": the base name) instead.
file(GLOB _file_pages "${html}/*_8h.html")
file(GLOB_RECURSE _headers RELATIVE "${SOURCE_DIR}/include"
     "${SOURCE_DIR}/include/*.h")
list(SORT _headers)
set(nnames 0)
foreach(h IN LISTS _headers)
  get_filename_component(base "${h}" NAME)
  set(page "")
  foreach(p IN LISTS _file_pages)
    file(READ "${p}" t)
    string(FIND "${t}" "<div class=\"title\">${base} File Reference</div>" at)
    if(at GREATER -1)
      set(page "${t}")
      break()
    endif()
  endforeach()
  if(page STREQUAL "")
    string(APPEND problems
      "include/${h}: no file page in the reference. Doxygen leaves out the "
      "functions, macros and typedefs of a file that has no /** @file */ "
      "comment; start the header's top comment with /** and a @file line.\n")
    continue()
  endif()

  file(READ "${SOURCE_DIR}/include/${h}" src)
  # Comments out, so that examples in them do not count.
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " code "${src}")
  string(REGEX REPLACE "//[^\n]*" " " code "${code}")
  set(names "")
  string(REGEX MATCHALL "MF_API[^;(]*[ *]mf_[a-z0-9_]+[ \t]*\\(" m "${code}")
  foreach(x IN LISTS m)
    string(REGEX MATCH "mf_[a-z0-9_]+[ \t]*\\($" x "${x}")
    string(REGEX REPLACE "[ \t]*\\($" "" x "${x}")
    list(APPEND names "${x}")
  endforeach()
  string(REGEX MATCHALL "#[ \t]*define[ \t]+MF_[A-Z0-9_]+" m "${code}")
  foreach(x IN LISTS m)
    string(REGEX MATCH "MF_[A-Z0-9_]+" x "${x}")
    # Excluded on purpose (EXCLUDE_SYMBOLS in docs/Doxyfile.in).
    if(NOT x MATCHES "^(MF_API|MF_PRINTF|MF_X_ENUM)$")
      list(APPEND names "${x}")
    endif()
  endforeach()
  string(REGEX MATCHALL "typedef[^;{]*[ *]mf_[a-z0-9_]+[ \t]*;" m "${code}")
  string(REGEX MATCHALL "}[ \t]*mf_[a-z0-9_]+[ \t]*;" m2 "${code}")
  string(REGEX MATCHALL "\\([ \t]*\\*[ \t]*mf_[a-z0-9_]+[ \t]*\\)" m3 "${code}")
  string(REGEX MATCHALL "enum[ \t]+mf_[a-z0-9_]+[ \t\n]*{" m4 "${code}")
  foreach(x IN LISTS m m2 m3 m4)
    string(REGEX MATCH "mf_[a-z0-9_]+[ \t\n]*[;){]$" x "${x}")
    string(REGEX REPLACE "[ \t\n]*[;){]$" "" x "${x}")
    list(APPEND names "${x}")
  endforeach()
  list(REMOVE_DUPLICATES names)
  foreach(x IN LISTS names)
    math(EXPR nnames "${nnames} + 1")
    string(FIND "${page}" ">${x}</a>" at)
    if(at LESS 0)
      string(APPEND problems
        "include/${h}: ${x} is not in the reference (undocumented?)\n")
    endif()
  endforeach()
endforeach()

# 3. Pages.
foreach(p index md_docs_semantics md_docs_errors)
  if(NOT EXISTS "${html}/${p}.html")
    string(APPEND problems "page ${p}.html missing from the reference\n")
  endif()
endforeach()
if(EXISTS "${html}/index.html")
  file(READ "${html}/index.html" t)
  string(FIND "${t}" "concurrent.futures" at)
  if(at LESS 0)
    string(APPEND problems "index.html is not docs/overview.md\n")
  endif()
endif()

# 4. Markdown that doxygen did not understand, which it does not warn
#    about: links left pointing at .md files (not resolved to pages), and
#    HTML shown as text (a table or list the parser gave up on).
file(GLOB _pages "${html}/index.html" "${html}/md_*.html")
foreach(p IN LISTS _pages)
  get_filename_component(pn "${p}" NAME)
  file(READ "${p}" t)
  if(t MATCHES "href=\"[^\"]*\\.md[#\"]")
    string(APPEND problems "${pn}: a link to a .md file was not resolved "
                           "(a link text broken over two lines?)\n")
  endif()
  if(t MATCHES "&lt;/?(table|tr|td|th|ul|li|a|p|pre|code)[ &]")
    string(APPEND problems "${pn}: HTML shown as text: the markdown "
                           "around it did not parse\n")
  endif()
endforeach()

if(problems)
  message(FATAL_ERROR "the API reference is incomplete:\n${problems}"
                      "(reference: ${html}/index.html)")
endif()
message(STATUS "API reference: no warnings; ${nnames} public names of "
               "${SOURCE_DIR}/include documented; ${html}/index.html")
