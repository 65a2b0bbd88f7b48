#include "server/runtime/device_memory.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lion/kernels/cuda_device.h"
#include "lion/kernels/torch_call.h"
#include "server/common/process_memory.h"
#include "server/common/status_macros.h"
#include "server/config/server_options.h"
#include "server/runtime/device.h"

#if LION_HAVE_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace lion::runtime {

absl::StatusOr<DeviceMemory> ReadCudaMemory(int index) {
#if LION_HAVE_TORCH_CUDA
  ASSIGN_OR_RETURN(kernels::CudaDeviceInfo info, kernels::QueryCudaDevice(index));
  DeviceMemory m;
  m.total = info.total_bytes;
  m.free = info.free_bytes;
  return kernels::TorchCall(absl::StrCat("CUDA allocator statistics of cuda:", index), [&] {
    const auto stats =
        c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
    const auto& bytes = stats.allocated_bytes[0];  // [0]: every pool together (StatType::AGGREGATE)
    m.used = bytes.current;
    m.peak = bytes.peak;
    return m;
  });
#else
  return absl::FailedPreconditionError(
      absl::StrCat("cuda:", index, ": this binary was built without CUDA"));
#endif
}

void RecordMemory(metrics::Metrics* metrics, const std::string& device) {
  const ProcessMemory process = ReadProcessMemory();
  const int64_t total = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  metrics->SetDeviceMemory("cpu", process.resident_bytes, total, process.peak_bytes);
  const absl::StatusOr<DeviceSpec> spec = ParseDevice(device);
  if (!spec.ok() || !spec->is_cuda()) return;
  const absl::StatusOr<DeviceMemory> m = ReadCudaMemory(spec->index);
  if (m.ok()) metrics->SetDeviceMemory(spec->ToString(), m->used, m->total, m->peak);
}

FormLimits DeviceFormLimits(FormLimits limits, const std::string& device,
                            int64_t flag_budget_bytes) {
  const absl::StatusOr<DeviceSpec> spec = ParseDevice(device);
  if (!spec.ok() || !spec->is_cuda()) return limits;
  limits.cuda = true;
  const absl::StatusOr<DeviceMemory> m = ReadCudaMemory(spec->index);
  if (m.ok()) {
    limits.memory_budget_bytes =
        GpuMemoryBudget(m->free, flag_budget_bytes, config::FormOptions{}.memory_budget_bytes);
  }
  return limits;
}

}  // namespace lion::runtime
