// What the process can see of its CUDA devices, through the CUDA runtime only
// (no LibTorch). Present in every build: without the CUDA kernels compiled in
// (no nvcc at configure time), CudaKernelsBuilt() is false, CudaDeviceCount()
// is 0 and QueryCudaDevice() is FAILED_PRECONDITION.
#ifndef LION_KERNELS_CUDA_DEVICE_H_
#define LION_KERNELS_CUDA_DEVICE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace lion::kernels {

// True when this binary holds the CUDA kernels.
bool CudaKernelsBuilt();

// Usable CUDA devices; 0 without a GPU or driver (cudaGetDeviceCount fails
// with "insufficient driver" then, which is not an error here).
int CudaDeviceCount();

struct CudaDeviceInfo {
  std::string name;
  int multiprocessors = 0;
  int compute_major = 0, compute_minor = 0;
  int64_t total_bytes = 0;
  int64_t free_bytes = 0;  // cudaMemGetInfo at the time of the query
};

// Properties and free memory of device `index`. Creates the device's primary
// context if it does not exist yet; leaves the calling thread's current
// device as it was. FAILED_PRECONDITION when the index is not a usable device.
absl::StatusOr<CudaDeviceInfo> QueryCudaDevice(int index);

}  // namespace lion::kernels

#endif  // LION_KERNELS_CUDA_DEVICE_H_
