// Probe: batching code using a server/model header. The runtime links lion_model
// PRIVATE (no runtime header exposes it), so the modules above the runtime must
// not see server/model through it.
#include "server/batching/batch_policy.h"
#include "server/model/model_config.h"

namespace lion::probe {

int Probe() { return static_cast<int>(model::ModelConfig{}.hidden_size); }

}  // namespace lion::probe
