# The exported_symbols test: libengine.so's dynamic symbols must be the public API alone,
# names in namespace engine (only ENGINE_API declarations can be exported, the rest is
# compiled hidden), their typeinfo and vtables, and the C API's eng_* functions.
#   cmake -DNM=nm -DLIBRARY=libengine.so -P check_exports.cmake
execute_process(COMMAND ${NM} -D --defined-only -C ${LIBRARY}
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(public 0)
set(others "")
foreach(line IN LISTS lines)
  # "<address> <type> <demangled name>"
  if(NOT line MATCHES "^[0-9a-fA-F]* *[A-Za-z] (.*)$")
    continue()
  endif()
  set(name "${CMAKE_MATCH_1}")
  if(name MATCHES "^((typeinfo|typeinfo name|vtable|VTT) for )?engine::" OR
     name MATCHES "^eng_[a-z0-9_]+$")
    math(EXPR public "${public} + 1")
  else()
    string(APPEND others "\n  ${name}")
  endif()
endforeach()
if(others)
  message(FATAL_ERROR "${LIBRARY} exports symbols outside the public API:${others}")
endif()
if(public LESS 10)
  message(FATAL_ERROR "${LIBRARY}: only ${public} public symbols found; is it the engine?")
endif()
message(STATUS "${LIBRARY}: ${public} exported symbols, all public")
