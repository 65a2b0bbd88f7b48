// Runner: the one thread that owns a model. It takes batches from the batcher
// (Submit blocks while a batch is already waiting, so batches grow under
// load), drops requests cancelled or expired meanwhile, picks the form
// (forced by the requests, else the form policy), runs Forward, and completes
// every request with its outputs and Usage, or with the error (INTERNAL
// errors name the model). Records batch metrics.
//
// Isolation: when a batch of several requests fails, each is run again
// alone, so one bad input fails only its own request. A request whose
// deadline passes during compute completes with DEADLINE_EXCEEDED, and
// non-finite outputs complete with INTERNAL instead of NaN scores. A forward
// whose requests are all cancelled or expired stops at the next layer.
//
// Thread safety: Submit, Stop, Abort and SetOnIdle from any thread. Not copyable. The clock and
// metrics must outlive it; the destructor calls Stop().
#ifndef LION_SERVER_RUNTIME_RUNNER_H_
#define LION_SERVER_RUNTIME_RUNNER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/runtime/batch_cost.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/model.h"
#include "server/runtime/request.h"

namespace lion::runtime {

// The attention shape of a described model, for the form policy.
AttentionDims DimsOf(const ModelDescription& description);

class Runner {
 public:
  static absl::StatusOr<std::unique_ptr<Runner>> Create(std::unique_ptr<Model> model,
                                                        const FormLimits& limits, Clock* clock,
                                                        metrics::Metrics* metrics);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Queues a batch; blocks while one is already waiting. After Stop() the
  // batch's requests complete with UNAVAILABLE.
  void Submit(Batch batch);

  // Runs what is queued, then joins the thread. Idempotent.
  void Stop();

  // Gives up (a drain ran out of time): the batch being computed stops at its
  // next layer, and its requests and any waiting batch complete with
  // UNAVAILABLE naming `reason`. Then joins, like Stop().
  void Abort(const std::string& reason);

  // Called on the runner thread each time it finishes a batch with nothing
  // waiting, with what a batch costs, fitted from the recent batches
  // (batch_cost.h; unknown before the first batch). The batcher forms its
  // next batch only then, so that everything that queued up during a batch
  // joins the next one. Set it before traffic starts; it must not block or
  // call back into the runner.
  void SetOnIdle(std::function<void(const BatchCost&)> on_idle);

  const ModelDescription& description() const { return description_; }
  const FormLimits& limits() const { return limits_; }

 private:
  Runner(std::unique_ptr<Model> model, const FormLimits& limits, Clock* clock,
         metrics::Metrics* metrics);
  void Loop();
  void Execute(Batch batch);
  // The forward of `live` as one batch, or (when that fails and there are
  // several) of each request alone. One result per request.
  std::vector<absl::StatusOr<SequenceOutput>> Compute(const Batch& live,
                                                      const BatchOptions& options);
  // Why `r` gets no result even if computed (cancelled, expired, aborted).
  absl::Status Gone(const Request& r, TimePoint now, bool computed);

  std::unique_ptr<Model> model_;  // touched only by thread_
  const ModelDescription description_;
  const FormLimits limits_;
  const AttentionDims dims_;
  Clock* const clock_;
  metrics::Metrics* const metrics_;

  // A leaf: never held while calling on_idle_ (copied out first), Forward, a
  // request's done or the metrics. Submit waits on it (the batcher thread,
  // holding no lock of its own).
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::function<void(const BatchCost&)> on_idle_ ABSL_GUARDED_BY(mu_);
  std::deque<Batch> inbox_ ABSL_GUARDED_BY(mu_);  // at most one waiting batch
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string abort_reason_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> aborted_{false};  // read between layers without mu_
  BatchCostModel batch_cost_;         // touched only by thread_
  std::thread thread_;
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_RUNNER_H_
