// Where a model runs: the --device string parsed, the --dtype name mapped,
// and the check that the device can be used in this build on this machine.
// No LibTorch here (the startup check's facts come from kernels/cuda_device.h),
// so the parsing and the check are plain functions, tested without a GPU.
#ifndef LION_SERVER_RUNTIME_DEVICE_H_
#define LION_SERVER_RUNTIME_DEVICE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lion/kernels/lion_attention_cuda.h"

namespace lion::runtime {

struct DeviceSpec {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = 0;  // CUDA device ordinal; "cuda" is cuda:0

  bool is_cuda() const { return kind == Kind::kCuda; }
  std::string ToString() const;  // "cpu" or "cuda:N" (the metrics' device label)
};

// "cpu", "cuda", "cuda:N" (N a non-negative integer); INVALID_ARGUMENT otherwise.
absl::StatusOr<DeviceSpec> ParseDevice(absl::string_view device);

// "float32", "bfloat16", "float16"; INVALID_ARGUMENT otherwise.
absl::StatusOr<kernels::DType> ParseDType(absl::string_view dtype);

// What this binary and machine offer for CUDA.
struct CudaSupport {
  bool kernels_built = false;  // nvcc-built kernels and LibTorch's CUDA linked in
  int device_count = 0;
};
CudaSupport CurrentCudaSupport();

// OK when `device` can run models here. FAILED_PRECONDITION otherwise, with a
// message for the operator: a CPU-only build, no usable GPU, or an index past
// the devices present. Pure: the startup check calls it with
// CurrentCudaSupport() before any weights load.
absl::Status CheckDeviceUsable(const DeviceSpec& device, const CudaSupport& support);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_DEVICE_H_
