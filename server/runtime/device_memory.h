// GPU memory as the server reports and budgets it. The figures come from
// LibTorch's CUDA caching allocator (what the model holds) and the CUDA
// runtime (the device's free and total memory). In builds without CUDA every
// call answers FAILED_PRECONDITION (or does nothing, for the metric).
#ifndef LION_SERVER_RUNTIME_DEVICE_MEMORY_H_
#define LION_SERVER_RUNTIME_DEVICE_MEMORY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/metrics/metrics.h"
#include "server/runtime/form_policy.h"

namespace lion::runtime {

struct DeviceMemory {
  int64_t used = 0;   // bytes the caching allocator has handed out now
  int64_t peak = 0;   // its high-water mark since start
  int64_t total = 0;  // the device's memory
  int64_t free = 0;   // the device's free memory (cudaMemGetInfo), cache included as used
};

// CUDA device `index`. Thread-safe.
absl::StatusOr<DeviceMemory> ReadCudaMemory(int index);

// Sets lion_device_memory_bytes{device, kind=used|total|peak}: for "cpu",
// the process's resident memory, its high-water mark and the machine's
// physical memory; when `device` (--device) is a GPU, also its caching
// allocator's figures under "cuda:N". Called at every scrape. Thread-safe.
void RecordMemory(metrics::Metrics* metrics, const std::string& device);

// The form policy's limits for a model on `device`: on a GPU, the CUDA
// kernels' memory estimates and a budget from the device's free memory now
// (GpuMemoryBudget; call once the model is loaded and warmed up). Unchanged
// for the CPU, or when the free memory cannot be read.
FormLimits DeviceFormLimits(FormLimits limits, const std::string& device,
                            int64_t flag_budget_bytes);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_DEVICE_MEMORY_H_
