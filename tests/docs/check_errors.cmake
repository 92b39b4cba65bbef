cmake_minimum_required(VERSION 3.18)
# cmake -DHEADER=<include/mpifutures.h> -DERRORS_MD=<docs/errors.md>
#       -P check_errors.cmake
#
# docs/errors.md must describe every code of MF_ERROR_TABLE, and only those:
#  - a row of the summary table:    | [NAME](#err_NAME) | value | message |
#  - an anchor line:                <a name="err_NAME"></a>
#  - right after it, a heading:     ### NAME (value): message
#  - a meaning: at least 80 characters of text before the next heading.
# The value and the message must be exactly those of the table (the message
# is what mf_strerror() returns). Codes in errors.md that the table lacks
# (anchors or headings) fail too. On failure the expected lines are printed
# so they can be pasted in.
if(NOT HEADER OR NOT ERRORS_MD)
  message(FATAL_ERROR "usage: cmake -DHEADER=... -DERRORS_MD=... -P check_errors.cmake")
endif()
get_filename_component(_src "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
include("${_src}/docs/error_table.cmake")
mf_read_error_table("${HEADER}" ERR)

file(READ "${ERRORS_MD}" md)
set(md "\n${md}")

set(problems "")
list(LENGTH ERR_NAMES n)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  list(GET ERR_NAMES ${i} name)
  list(GET ERR_VALUES ${i} value)
  list(GET ERR_MESSAGES ${i} msg)

  set(row "\n| [${name}](#err_${name}) | ${value} | ${msg} |")
  set(anchor "\n<a name=\"err_${name}\"></a>\n")
  set(heading "### ${name} (${value}): ${msg}\n")

  string(FIND "${md}" "${row}" p)
  if(p LESS 0)
    string(APPEND problems
      "${name}: no summary-table row starting with\n"
      "    | [${name}](#err_${name}) | ${value} | ${msg} |\n")
  endif()
  string(FIND "${md}" "${anchor}" p)
  if(p LESS 0)
    string(APPEND problems "${name}: no anchor line\n    <a name=\"err_${name}\"></a>\n")
    continue()
  endif()
  string(LENGTH "${anchor}" alen)
  math(EXPR p "${p} + ${alen}")
  string(SUBSTRING "${md}" ${p} -1 rest)
  string(FIND "${rest}" "${heading}" h)
  if(NOT h EQUAL 0)
    string(REGEX MATCH "^[^\n]*" got "${rest}")
    string(APPEND problems
      "${name}: the line after its anchor must be the heading\n"
      "    ${heading}  but is\n    ${got}\n")
    continue()
  endif()
  # The meaning: the text up to the next heading or anchor.
  string(LENGTH "${heading}" hlen)
  string(SUBSTRING "${rest}" ${hlen} -1 rest)
  string(REGEX REPLACE "\n(#|<a name=).*$" "" body "${rest}")
  string(STRIP "${body}" body)
  string(LENGTH "${body}" blen)
  if(blen LESS 80)
    string(APPEND problems
      "${name}: its section has ${blen} characters of text; describe what "
      "it means, which calls return it and what to do (80 or more)\n")
  endif()
endforeach()

# Nothing documented that the table lacks.
string(REGEX MATCHALL "<a name=\"err_[A-Z0-9_]+\"></a>" _anchors "${md}")
string(REGEX MATCHALL "\n### MF_[A-Z0-9_]+" _heads "${md}")
foreach(a IN LISTS _anchors _heads)
  string(REGEX MATCH "MF_[A-Z0-9_]+" c "${a}")
  list(FIND ERR_NAMES "${c}" k)
  if(k LESS 0)
    string(APPEND problems
      "${c}: documented in errors.md but not in MF_ERROR_TABLE (${HEADER})\n")
  endif()
endforeach()

if(problems)
  message(FATAL_ERROR "${ERRORS_MD} does not match MF_ERROR_TABLE:\n${problems}")
endif()
message(STATUS "errors.md: all ${n} codes of MF_ERROR_TABLE described")
