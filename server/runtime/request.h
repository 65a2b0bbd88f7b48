// One admitted inference request as it travels API -> batcher -> runner, and
// what the runner hands back. Plain C++ (no gRPC, no LibTorch). Move-only.
#ifndef LION_SERVER_RUNTIME_REQUEST_H_
#define LION_SERVER_RUNTIME_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"
#include "server/common/clock.h"
#include "server/runtime/model.h"

namespace lion::runtime {

// What actually happened to a request (lion.v1.Usage).
struct Usage {
  int64_t input_tokens = 0;
  kernels::Form form = kernels::Form::kFull;
  int64_t batch_size = 0;
  int64_t queue_us = 0;    // admission to batch start
  int64_t compute_us = 0;  // batch forward
  int64_t total_us = 0;    // admission to completion
};

struct Result {
  SequenceOutput output;
  Usage usage;
};

// Called exactly once per admitted request, from the batcher thread (drops,
// shutdown) or the runner thread (results, errors). A request that admission
// refuses is not completed: Batcher::Submit returns the error instead. Must
// not block.
using Completion = std::function<void(absl::StatusOr<Result>)>;

struct Request {
  SequenceInput input;
  OutputRequest outputs;
  std::optional<kernels::Form> forced_form;  // nullopt = the form policy chooses
  int64_t length = 0;                        // tokens the model sees
  TimePoint arrival{};                       // admission time
  TimePoint deadline = TimePoint::max();     // expired requests are never computed
  // Set (from any thread) when the client cancelled; may be null.
  std::shared_ptr<std::atomic<bool>> cancelled;
  Completion done;

  bool IsCancelled() const { return cancelled != nullptr && cancelled->load(); }
};

using Batch = std::vector<std::unique_ptr<Request>>;

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_REQUEST_H_
