#include "server/runtime/device_identity.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lion/kernels/cuda_device.h"

namespace lion::runtime {
namespace {

// Extensions that change which kernels LibTorch and MKL run.
constexpr absl::string_view kVectorPrefixes[] = {"sse4",  "avx", "fma",  "amx", "f16c",
                                                 "asimd", "sve", "i8mm", "bf16"};

bool IsVectorExtension(absl::string_view flag) {
  for (absl::string_view p : kVectorPrefixes) {
    if (absl::StartsWith(flag, p)) return true;
  }
  return false;
}

std::string CudaIdentity(const std::string& device) {
  int index = 0;
  if (const size_t colon = device.find(':'); colon != std::string::npos) {
    if (!absl::SimpleAtoi(device.substr(colon + 1), &index)) index = 0;
  }
  absl::StatusOr<kernels::CudaDeviceInfo> info = kernels::QueryCudaDevice(index);
  if (!info.ok()) return absl::StrCat("cuda: unknown (device ", index, ")");
  return absl::StrCat("cuda: ", info->name, " sm_", info->compute_major, info->compute_minor);
}

}  // namespace

std::string CpuIdentity(absl::string_view cpuinfo) {
  std::string model = "unknown";
  std::set<std::string> extensions;
  bool have_model = false, have_flags = false;
  for (absl::string_view line : absl::StrSplit(cpuinfo, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (!have_model && (key == "model name" || key == "Model" || key == "CPU part")) {
      model = std::string(value);
      have_model = key == "model name" || key == "Model";
    } else if (!have_flags && (key == "flags" || key == "Features")) {
      for (absl::string_view flag : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
        if (IsVectorExtension(flag)) extensions.insert(std::string(flag));
      }
      have_flags = true;
    }
  }
  return absl::StrCat("cpu: ", model, " [",
                      extensions.empty() ? "unknown" : absl::StrJoin(extensions, " "), "]");
}

std::string DeviceIdentity(const std::string& device) {
  if (absl::StartsWith(device, "cuda")) return CudaIdentity(device);
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  return CpuIdentity(text.str());
}

}  // namespace lion::runtime
