// One Open Inference Protocol ModelInfer call, whatever its front: resolves
// the model (and version), plans the rows (oip_infer.h), runs every row
// through the Dispatcher — all of them in one preprocess job, inline or on
// the pool by their total size — so that each row batches with all other
// traffic, and replies once every row is answered, with the outputs in row
// order or with the first error (the other rows are then cancelled).
// Thread-safe; never blocks.
#ifndef LION_SERVER_API_OIP_CALL_H_
#define LION_SERVER_API_OIP_CALL_H_

#include <memory>
#include <set>
#include <string>

#include "server/api/dispatcher.h"
#include "server/api/oip_infer.h"

namespace lion::api {

// `label` receives the resolved model name before `reply` runs.
// `front_parameters`: see PlanInfer.
void RunInfer(Dispatcher& dispatcher, std::shared_ptr<OipRequest> req, const CallOptions& call,
              Reply<OipResponse> reply, std::shared_ptr<std::string> label,
              const std::set<std::string>& front_parameters);

}  // namespace lion::api

#endif  // LION_SERVER_API_OIP_CALL_H_
