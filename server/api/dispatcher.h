// Dispatcher: the front-neutral half of every inference call. A front
// (lion.v1 or OIP over gRPC, the HTTP/JSON front) enters the drain gate,
// authenticates and parses; then Run resolves the model, refuses at once when
// its queue is full, tokenizes or decodes — inline for small inputs, on the
// preprocess pool for large ones, so that a huge input never holds a front's
// thread — builds the runtime::Request and submits it to the model's
// batcher. The runner completes it and the reply goes back to the front.
// Nothing here blocks. Thread-safe. Not copyable. The ServiceContext's
// pointees must outlive it.
#ifndef LION_SERVER_API_DISPATCHER_H_
#define LION_SERVER_API_DISPATCHER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/api/preprocess_pool.h"
#include "server/api/service_context.h"
#include "server/repository/model_registry.h"

namespace lion::api {

// What a front knows about one call.
struct CallOptions {
  TimePoint deadline = TimePoint::max();
  // Set by the front when the client leaves (or gives up); never null.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
};

template <typename Resp>
using Reply = std::function<void(absl::StatusOr<Resp>)>;

// Inputs above these sizes are tokenized or decoded on the preprocess pool
// (below them it takes well under a millisecond).
inline constexpr size_t kInlineTextBytes = 16 << 10;
inline constexpr size_t kInlineImageBytes = 256 << 10;

class Dispatcher {
 public:
  // Errors: INVALID_ARGUMENT for a context without models, metrics or clock.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(const ServiceContext& context);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  const ServiceContext& context() const { return ctx_; }

  // A pass to hold until the reply is out (null without a gate), or
  // UNAVAILABLE while draining.
  absl::StatusOr<std::shared_ptr<DrainGate::Pass>> Enter() const;

  // Runs one parsed request of Task (tasks.h): `reply` is called exactly
  // once, inline or later from a pool, batcher or runner thread. `label`
  // receives the resolved model name (the metric label; left empty for
  // unknown names, which clients choose freely) before `reply` is called.
  template <typename Task>
  void Run(std::shared_ptr<typename Task::Req> req, const CallOptions& call,
           Reply<typename Task::Resp> reply, std::shared_ptr<std::string> label);

  // The step Run takes once the model is resolved: tokenize or decode on the
  // calling thread, then submit (fronts that split a call into rows run it
  // for each row inside one Preprocess job).
  template <typename Task>
  void BuildAndSubmit(std::shared_ptr<typename Task::Req> req, repository::ModelRef model,
                      const CallOptions& call, Reply<typename Task::Resp> reply);

  // Runs `job` inline, or on the pool when `large`; `fail` answers the call
  // when the pool is full (RESOURCE_EXHAUSTED) or shuts down first.
  void Preprocess(bool large, std::function<void()> job, std::function<void(absl::Status)> fail);

 private:
  Dispatcher(const ServiceContext& context, std::unique_ptr<PreprocessPool> pool)
      : ctx_(context), pool_(std::move(pool)) {}

  const ServiceContext ctx_;
  const std::unique_ptr<PreprocessPool> pool_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_DISPATCHER_H_
