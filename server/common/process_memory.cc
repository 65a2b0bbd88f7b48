#include "server/common/process_memory.h"

#include <fstream>
#include <string>

namespace lion {

ProcessMemory ReadProcessMemory() {
  int64_t resident_kb = 0, peak_kb = 0;
  std::ifstream status("/proc/self/status");
  for (std::string key; status >> key;) {
    if (key == "VmRSS:") status >> resident_kb;
    if (key == "VmHWM:") status >> peak_kb;
  }
  return ProcessMemory{resident_kb * 1024, peak_kb * 1024};
}

}  // namespace lion
