# mf_read_error_table(<header> <prefix>)
#
# Reads the X-macro table MF_ERROR_TABLE from <header> (include/mpifutures.h)
# and sets, in the caller's scope, <prefix>_NAMES, <prefix>_VALUES and
# <prefix>_MESSAGES: parallel lists, in table order. Fails (FATAL_ERROR) when
# the table is missing or a row cannot be parsed, so a change of the
# table's layout is noticed instead of yielding a short list.
# Used by docs/errors_dox.cmake (build) and tests/docs/check_errors.cmake.
function(mf_read_error_table header prefix)
  file(READ "${header}" text)
  # The macro: its #define line and every line continued with a backslash.
  if(NOT text MATCHES "#[ \t]*define[ \t]+MF_ERROR_TABLE\\(X\\)(([^\n\\\\]|\\\\[^\n]|\\\\\n)*)")
    message(FATAL_ERROR "${header}: no #define MF_ERROR_TABLE(X) found")
  endif()
  set(body "${CMAKE_MATCH_1}")
  # Every X( in the body must be a well-formed row.
  string(REGEX MATCHALL "X\\(" opens "${body}")
  string(REGEX MATCHALL
    "X\\([ \t]*MF_[A-Z0-9_]+[ \t]*,[ \t]*[0-9]+[ \t]*,[ \t]*\"[^\"\\\\\n]*\"[ \t]*\\)"
    rows "${body}")
  list(LENGTH opens nopen)
  list(LENGTH rows n)
  if(n EQUAL 0 OR NOT n EQUAL nopen)
    message(FATAL_ERROR
      "${header}: MF_ERROR_TABLE has ${nopen} X( entries but ${n} rows of the "
      "form X(MF_NAME, value, \"message\"); docs/error_table.cmake cannot "
      "read it")
  endif()
  set(names)
  set(values)
  set(messages)
  foreach(row IN LISTS rows)
    string(REGEX MATCH
      "X\\([ \t]*(MF_[A-Z0-9_]+)[ \t]*,[ \t]*([0-9]+)[ \t]*,[ \t]*\"([^\"]*)\""
      _ "${row}")
    list(APPEND names "${CMAKE_MATCH_1}")
    list(APPEND values "${CMAKE_MATCH_2}")
    list(APPEND messages "${CMAKE_MATCH_3}")
  endforeach()
  set(${prefix}_NAMES "${names}" PARENT_SCOPE)
  set(${prefix}_VALUES "${values}" PARENT_SCOPE)
  set(${prefix}_MESSAGES "${messages}" PARENT_SCOPE)
endfunction()
