// Probe: model code using a server/runtime header. The model sits below the
// runtime (docs/architecture.md section 1), so it must not see the runtime.
#include "server/model/model_config.h"
#include "server/runtime/timing_table.h"

namespace lion::probe {

int Probe() { return static_cast<int>(sizeof(runtime::TimingTable)); }

}  // namespace lion::probe
