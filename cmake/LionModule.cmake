# Module boundaries the compiler enforces.
#
# Sources include project headers by their path from the repository root
# ("server/common/status_macros.h"), but no target puts the repository root on
# its include path: that would let any module include any header. Instead each
# module folder gets its own include root in the build tree that holds one
# symbolic link, e.g.
#   <build>/lion_include/server.common/server/common -> <repo>/server/common
# and a module's target exports only that root. A target can then reach the
# headers of the modules it links (directly or through their PUBLIC links) and
# no others: including a header of a module it does not link fails with "No
# such file or directory". tests/boundaries checks that this holds.
#
#   lion_module(<target> [DIR <folder>] [PRIVATE])
#     DIR: the folder, relative to the repository root, whose headers <target>
#          exports (default: the current source folder).
#     PRIVATE: the root is for <target>'s own sources only (a test or tool
#          executable); otherwise it is PUBLIC (INTERFACE for an interface
#          library), so that targets linking <target> see it too.
#
# Roots are named after the folder, not the target, so that two targets of one
# folder (a test helper library and the tests beside it) share one path to
# each header.
get_filename_component(LION_REPO_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# The include root of <folder> (relative to the repository root), created on
# first use. Sets <out_var> in the caller's scope.
function(lion_module_include_root folder out_var)
  string(REGEX REPLACE "/+$" "" folder "${folder}")
  if(IS_ABSOLUTE "${folder}" OR folder MATCHES "(^|/)\\.\\.(/|$)" OR folder STREQUAL "")
    message(FATAL_ERROR "lion_module: '${folder}' is not a folder inside the repository")
  endif()
  if(NOT IS_DIRECTORY "${LION_REPO_ROOT}/${folder}")
    message(FATAL_ERROR "lion_module: no folder ${LION_REPO_ROOT}/${folder}")
  endif()
  string(REPLACE "/" "." _name "${folder}")
  set(_root "${CMAKE_BINARY_DIR}/lion_include/${_name}")
  set(_link "${_root}/${folder}")
  get_filename_component(_parent "${_link}" DIRECTORY)
  file(MAKE_DIRECTORY "${_parent}")
  set(_current "")
  if(IS_SYMLINK "${_link}")
    file(READ_SYMLINK "${_link}" _current)
  endif()
  if(NOT _current STREQUAL "${LION_REPO_ROOT}/${folder}")
    file(REMOVE_RECURSE "${_link}")
    file(CREATE_LINK "${LION_REPO_ROOT}/${folder}" "${_link}" SYMBOLIC)
  endif()
  set(${out_var} "${_root}" PARENT_SCOPE)
endfunction()

function(lion_module target)
  cmake_parse_arguments(M "PRIVATE" "DIR" "" ${ARGN})
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lion_module(${target}): unknown arguments ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT M_DIR)
    file(RELATIVE_PATH M_DIR "${LION_REPO_ROOT}" "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  lion_module_include_root("${M_DIR}" _root)
  get_target_property(_type ${target} TYPE)
  if(M_PRIVATE)
    set(_scope PRIVATE)
  elseif(_type STREQUAL "INTERFACE_LIBRARY")
    set(_scope INTERFACE)
  else()
    set(_scope PUBLIC)
  endif()
  target_include_directories(${target} ${_scope} "${_root}")
endfunction()
