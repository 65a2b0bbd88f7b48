// cuda_device.h for builds without the CUDA kernels (no nvcc at configure time).
#include "absl/strings/str_cat.h"
#include "lion/kernels/cuda_device.h"

namespace lion::kernels {

bool CudaKernelsBuilt() { return false; }

int CudaDeviceCount() { return 0; }

absl::StatusOr<CudaDeviceInfo> QueryCudaDevice(int index) {
  return absl::FailedPreconditionError(
      absl::StrCat("CUDA device ", index,
                   ": this binary was built without CUDA (configure with nvcc and "
                   "-DLION_CUDA=ON)"));
}

}  // namespace lion::kernels
