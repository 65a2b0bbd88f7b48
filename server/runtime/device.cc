#include "server/runtime/device.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lion/kernels/cuda_device.h"

namespace lion::runtime {

std::string DeviceSpec::ToString() const {
  return is_cuda() ? absl::StrCat("cuda:", index) : "cpu";
}

absl::StatusOr<DeviceSpec> ParseDevice(absl::string_view device) {
  DeviceSpec spec;
  if (device == "cpu") return spec;
  spec.kind = DeviceSpec::Kind::kCuda;
  if (device == "cuda") return spec;
  int index = 0;
  if (device.substr(0, 5) == "cuda:" && absl::SimpleAtoi(device.substr(5), &index) && index >= 0 &&
      device.substr(5).find_first_not_of("0123456789") == absl::string_view::npos) {
    spec.index = index;
    return spec;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device '", device, "': expected cpu, cuda or cuda:N"));
}

absl::StatusOr<kernels::DType> ParseDType(absl::string_view dtype) {
  for (kernels::DType d :
       {kernels::DType::kFloat32, kernels::DType::kBFloat16, kernels::DType::kFloat16}) {
    if (dtype == kernels::DTypeName(d)) return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("dtype '", dtype, "': expected float32, bfloat16 or float16"));
}

CudaSupport CurrentCudaSupport() {
  CudaSupport support;
#if LION_HAVE_TORCH_CUDA
  support.kernels_built = kernels::CudaKernelsBuilt();
#endif
  support.device_count = support.kernels_built ? kernels::CudaDeviceCount() : 0;
  return support;
}

absl::Status CheckDeviceUsable(const DeviceSpec& device, const CudaSupport& support) {
  if (!device.is_cuda()) return absl::OkStatus();
  const std::string name = device.ToString();
  if (!support.kernels_built) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--device=", name,
        ": this lion-serve was built without CUDA (CPU only). Rebuild it "
        "with the CUDA toolkit's nvcc and a CUDA build of the torch wheel (-DLION_CUDA=ON), or "
        "serve with --device=cpu"));
  }
  if (support.device_count == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--device=", name,
                     ": no usable CUDA device on this machine (no GPU, or no NVIDIA "
                     "driver that this CUDA runtime accepts)"));
  }
  if (device.index >= support.device_count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--device=", name, ": this machine has ", support.device_count, " CUDA device",
        support.device_count == 1 ? "" : "s", " (cuda:0 to cuda:", support.device_count - 1, ")"));
  }
  return absl::OkStatus();
}

}  // namespace lion::runtime
