# LibTorch comes from the torch wheel in the project venv (scripts/setup), so the
# CPU and CUDA builds use one modern LibTorch. We define the imported target
# ourselves instead of calling the wheel's TorchConfig: that config drags in the
# CUDA toolkit (and its version checks) even for a CPU build.
#
# Result: target lion::torch (headers + libtorch_cpu/c10), and, when the wheel
# has CUDA, lion::torch_cuda (libtorch_cuda/c10_cuda, linked --no-as-needed so
# the CUDA backend registers itself at load time). Only builds with the CUDA
# kernels (LionCuda.cmake) link lion::torch_cuda: a CPU-only build links
# libtorch_cpu and libc10 alone.
if(NOT LION_PYTHON)
  if(DEFINED ENV{LION_VENV})
    set(LION_PYTHON "$ENV{LION_VENV}/bin/python")
  else()
    set(LION_PYTHON "$ENV{HOME}/.cache/lion-serve/venv/bin/python")
  endif()
endif()
if(NOT EXISTS "${LION_PYTHON}")
  message(FATAL_ERROR "No project Python at ${LION_PYTHON}: run scripts/setup first "
                      "(or pass -DLION_PYTHON=/path/to/venv/bin/python)")
endif()
execute_process(
  COMMAND "${LION_PYTHON}" -c
    "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"
  OUTPUT_VARIABLE _lion_torch_out RESULT_VARIABLE _lion_torch_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _lion_torch_rc EQUAL 0)
  message(FATAL_ERROR "torch is not importable from ${LION_PYTHON}: run scripts/setup")
endif()
string(REPLACE "\n" ";" _lion_torch_out "${_lion_torch_out}")
list(GET _lion_torch_out 0 LION_TORCH_DIR)
list(GET _lion_torch_out 1 LION_TORCH_VERSION)
list(GET _lion_torch_out 2 LION_TORCH_CXX11_ABI)
set(LION_TORCH_LIB_DIR "${LION_TORCH_DIR}/lib")

add_library(lion_torch INTERFACE)
add_library(lion::torch ALIAS lion_torch)
target_include_directories(lion_torch SYSTEM INTERFACE
  "${LION_TORCH_DIR}/include" "${LION_TORCH_DIR}/include/torch/csrc/api/include")
target_compile_definitions(lion_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${LION_TORCH_CXX11_ABI})
target_link_libraries(lion_torch INTERFACE
  "${LION_TORCH_LIB_DIR}/libtorch_cpu.so" "${LION_TORCH_LIB_DIR}/libc10.so")
target_link_options(lion_torch INTERFACE "LINKER:-rpath,${LION_TORCH_LIB_DIR}")

set(LION_TORCH_HAS_CUDA OFF)
if(EXISTS "${LION_TORCH_LIB_DIR}/libtorch_cuda.so")
  set(LION_TORCH_HAS_CUDA ON)
  add_library(lion_torch_cuda INTERFACE)
  add_library(lion::torch_cuda ALIAS lion_torch_cuda)
  target_link_libraries(lion_torch_cuda INTERFACE lion_torch
    "-Wl,--no-as-needed" "${LION_TORCH_LIB_DIR}/libtorch_cuda.so" "${LION_TORCH_LIB_DIR}/libc10_cuda.so"
    "-Wl,--as-needed")
  # libtorch_cuda needs the wheel's own NCCL/cuDNN (found at run time through
  # its RUNPATH); let the linker resolve them there, not in the toolkit.
  file(GLOB _lion_nvidia_libs "${LION_TORCH_DIR}/../nvidia/*/lib" "${LION_TORCH_DIR}/../nvidia/cu13/lib")
  foreach(_d IN LISTS _lion_nvidia_libs)
    target_link_options(lion_torch_cuda INTERFACE "LINKER:-rpath-link,${_d}")
  endforeach()
endif()
message(STATUS "LibTorch ${LION_TORCH_VERSION} from ${LION_TORCH_DIR} (CUDA in wheel: ${LION_TORCH_HAS_CUDA})")
