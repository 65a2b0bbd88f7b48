#include "lion/kernels/cuda_device.h"

#include <cuda_runtime.h>

#include "absl/strings/str_cat.h"

namespace lion::kernels {

bool CudaKernelsBuilt() { return true; }

int CudaDeviceCount() {
  int count = 0;  // left untouched when there is no driver (error 35)
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error
    return 0;
  }
  return count;
}

absl::StatusOr<CudaDeviceInfo> QueryCudaDevice(int index) {
  const int count = CudaDeviceCount();
  if (index < 0 || index >= count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CUDA device ", index, " does not exist: this machine has ", count, " CUDA device",
        count == 1 ? "" : "s", count == 0 ? " (or no usable driver)" : ""));
  }
  cudaDeviceProp prop;
  if (cudaError_t err = cudaGetDeviceProperties(&prop, index); err != cudaSuccess) {
    cudaGetLastError();
    return absl::InternalError(
        absl::StrCat("cudaGetDeviceProperties(", index, "): ", cudaGetErrorString(err)));
  }
  CudaDeviceInfo info;
  info.name = prop.name;
  info.multiprocessors = prop.multiProcessorCount;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  int previous = 0;
  cudaGetDevice(&previous);
  size_t free_bytes = 0, total_bytes = 0;
  cudaError_t err = cudaSetDevice(index);
  if (err == cudaSuccess) err = cudaMemGetInfo(&free_bytes, &total_bytes);
  cudaSetDevice(previous);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return absl::InternalError(
        absl::StrCat("cudaMemGetInfo on device ", index, ": ", cudaGetErrorString(err)));
  }
  info.free_bytes = static_cast<int64_t>(free_bytes);
  info.total_bytes = static_cast<int64_t>(total_bytes);
  return info;
}

}  // namespace lion::kernels
