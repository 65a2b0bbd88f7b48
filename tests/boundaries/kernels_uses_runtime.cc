// Probe: kernel code using a runtime header, against the arrows (the runtime
// depends on the kernels, never the reverse). Linking lion_kernels alone must not
// make server/runtime visible.
#include "lion/kernels/attention_options.h"
#include "server/runtime/timing_table.h"

namespace lion::probe {

int Probe() { return runtime::TimingTable{}.batched.empty() ? 0 : 1; }

}  // namespace lion::probe
