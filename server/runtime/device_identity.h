// What kind of device a calibration ran on, for its cache key: timings carry
// over between machines with the same CPU model and vector extensions (or the
// same GPU), not otherwise.
#ifndef LION_SERVER_RUNTIME_DEVICE_IDENTITY_H_
#define LION_SERVER_RUNTIME_DEVICE_IDENTITY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace lion::runtime {

// From the text of /proc/cpuinfo: "cpu: <model name> [<vector extensions>]",
// the extensions (SSE4, AVX*, FMA, AMX, F16C; Arm's ASIMD, SVE*, ...) sorted.
// "cpu: unknown" parts where the text lacks them.
std::string CpuIdentity(absl::string_view cpuinfo);

// "cpu..." (from /proc/cpuinfo) for "cpu"; "cuda: <GPU name> sm_<major><minor>"
// for "cuda"/"cuda:N" (kernels::QueryCudaDevice; "cuda: unknown (device N)"
// where that fails). Thread-safe.
std::string DeviceIdentity(const std::string& device);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_DEVICE_IDENTITY_H_
