// This process's memory as the kernel reports it (/proc/self/status): what
// lion_device_memory_bytes shows for the CPU device, and what the benchmarks
// and allocator tests measure.
#ifndef LION_SERVER_COMMON_PROCESS_MEMORY_H_
#define LION_SERVER_COMMON_PROCESS_MEMORY_H_

#include <cstdint>

namespace lion {

struct ProcessMemory {
  int64_t resident_bytes = 0;  // VmRSS
  int64_t peak_bytes = 0;      // VmHWM: high-water mark since start or the last reset
};

// Zeros where /proc is unreadable.
ProcessMemory ReadProcessMemory();

}  // namespace lion

#endif  // LION_SERVER_COMMON_PROCESS_MEMORY_H_
