# CUDA kernels: LION_CUDA=AUTO builds them when nvcc is found, ON requires it.
# nvcc is on PATH only in login shells, so look in the usual toolkit places too.
#
# Result: LION_HAVE_CUDA, the CUDA language, and target lion_cudart: the CUDA
# runtime our kernels link. When the torch wheel carries its own runtime
# (nvidia/*/lib/libcudart.so.*), that one, so that one process loads one
# runtime (LibTorch's, possibly newer than the toolkit's: the kernels built
# by an older nvcc run on it); otherwise the toolkit's.
set(LION_HAVE_CUDA OFF)
if(NOT LION_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER)
    find_program(LION_NVCC nvcc PATHS /usr/local/cuda/bin /usr/local/cuda-13.0/bin NO_CACHE)
    if(LION_NVCC)
      set(CMAKE_CUDA_COMPILER "${LION_NVCC}")
    endif()
  endif()
  if(CMAKE_CUDA_COMPILER)
    # Without a GPU "native" cannot be resolved: name Ampere and Hopper.
    if(NOT CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "80;90")
    endif()
    set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 flag for nvcc
    # No implicit cudart (CMake's default is the static one): lion_cudart below
    # is the one runtime every target links.
    set(CMAKE_CUDA_RUNTIME_LIBRARY None)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    # CMake 3.25's FindCUDAToolkit sets a property on CUDA::nvToolsExt without
    # checking that the target exists, and CUDA 12.9+ ships no libnvToolsExt
    # (NVTX 3 is header-only): point it at NVTX 3's interop library so the
    # target exists. Nothing here links it.
    if(NOT CUDA_nvToolsExt_LIBRARY)
      get_filename_component(_lion_cuda_root "${CMAKE_CUDA_COMPILER}" DIRECTORY)
      file(GLOB _lion_nvtx3 "${_lion_cuda_root}/../lib/libnvtx3interop.so*"
                            "${_lion_cuda_root}/../lib64/libnvtx3interop.so*"
                            "${_lion_cuda_root}/../targets/x86_64-linux/lib/libnvtx3interop.so*")
      file(GLOB _lion_nvtx2 "${_lion_cuda_root}/../lib64/libnvToolsExt.so*"
                            "${_lion_cuda_root}/../targets/x86_64-linux/lib/libnvToolsExt.so*")
      if(_lion_nvtx3 AND NOT _lion_nvtx2)
        list(GET _lion_nvtx3 0 _lion_nvtx3)
        set(CUDA_nvToolsExt_LIBRARY "${_lion_nvtx3}" CACHE FILEPATH "NVTX library (see LionCuda.cmake)")
      endif()
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(LION_HAVE_CUDA ON)
  elseif(LION_CUDA STREQUAL "ON")
    message(FATAL_ERROR "LION_CUDA=ON but nvcc was not found (set CMAKE_CUDA_COMPILER)")
  endif()
endif()

if(LION_HAVE_CUDA)
  add_library(lion_cudart INTERFACE)
  target_include_directories(lion_cudart SYSTEM INTERFACE ${CUDAToolkit_INCLUDE_DIRS})
  set(_lion_wheel_cudart "")
  if(LION_TORCH_HAS_CUDA)
    file(GLOB _lion_wheel_cudart "${LION_TORCH_DIR}/../nvidia/*/lib/libcudart.so.[0-9]*")
  endif()
  if(_lion_wheel_cudart)
    list(GET _lion_wheel_cudart 0 _lion_wheel_cudart)
    get_filename_component(_lion_cudart_dir "${_lion_wheel_cudart}" DIRECTORY)
    target_link_libraries(lion_cudart INTERFACE "${_lion_wheel_cudart}")
    target_link_options(lion_cudart INTERFACE "LINKER:-rpath,${_lion_cudart_dir}")
    message(STATUS "CUDA runtime: the torch wheel's ${_lion_wheel_cudart}")
  else()
    target_link_libraries(lion_cudart INTERFACE CUDA::cudart)
    message(STATUS "CUDA runtime: the toolkit's")
  endif()
  if(LION_TORCH_HAS_CUDA)  # LionTorch.cmake, included first, defines lion_torch_cuda
    target_link_libraries(lion_torch_cuda INTERFACE lion_cudart)
  endif()
endif()
message(STATUS "LION CUDA kernels: ${LION_HAVE_CUDA}")
