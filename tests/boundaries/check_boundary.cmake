# cmake -DBUILD_DIR=<build> -DDENIED=<target> -DALLOWED=<target> -DHEADER=<path>
#       -P check_boundary.cmake
# Passes when ALLOWED builds and DENIED fails because HEADER is not found.
foreach(_var BUILD_DIR DENIED ALLOWED HEADER)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "check_boundary.cmake: -D${_var}=... is required")
  endif()
endforeach()

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${ALLOWED}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "positive control ${ALLOWED} failed to build (rc ${_rc}): the probe "
                      "itself is broken, so the boundary check proves nothing.\n${_out}")
endif()
message(STATUS "${ALLOWED}: builds")

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${DENIED}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(_rc EQUAL 0)
  message(FATAL_ERROR "${DENIED} built: ${HEADER} is visible to a target that does not "
                      "link its module\n${_out}")
endif()
# GCC: "<header>: No such file or directory"; clang: "'<header>' file not found".
string(REPLACE "." "\\." _header_re "${HEADER}")
if(NOT _out MATCHES "${_header_re}'?:? (No such file or directory|file not found)")
  message(FATAL_ERROR "${DENIED} failed, but not for want of ${HEADER}:\n${_out}")
endif()
message(STATUS "${DENIED}: refused (${HEADER} not found)")
