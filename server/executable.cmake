# lion-serve: the server binary (included by server/CMakeLists.txt).
# -DLION_GIT_SHA=... wins (an image build has no .git to read it from).
if(NOT LION_GIT_SHA)
  execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                  OUTPUT_VARIABLE LION_GIT_SHA OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT LION_GIT_SHA)
  set(LION_GIT_SHA unknown)
endif()
add_executable(lion-serve ${CMAKE_CURRENT_SOURCE_DIR}/main.cc)
set_target_properties(lion-serve PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/server)
target_compile_definitions(lion-serve PRIVATE
  LION_VERSION="${PROJECT_VERSION}" LION_GIT_SHA="${LION_GIT_SHA}" LION_TORCH_VERSION="${LION_TORCH_VERSION}")
target_link_libraries(lion-serve PRIVATE lion_api lion_http lion_repository lion_batching lion_runtime lion_metrics lion_config
                      lion_common lion_fast_malloc lion_warnings)
