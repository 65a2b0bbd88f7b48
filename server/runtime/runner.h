// Runner: the one thread that owns a model. It takes batches from the batcher
// (Submit blocks while a batch is already waiting, so batches grow under
// load), drops requests cancelled or expired meanwhile, picks the form
// (forced by the requests, else the form policy), runs Forward, and completes
// every request with its outputs and Usage, or with the error (INTERNAL
// errors name the model). Records batch metrics.
//
// Thread safety: Submit and Stop from any thread. Not copyable. The clock and
// metrics must outlive it; the destructor calls Stop().
#ifndef LION_SERVER_RUNTIME_RUNNER_H_
#define LION_SERVER_RUNTIME_RUNNER_H_

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

  // True when no batch is waiting or running: a batch formed now would start
  // at once. The batcher plans only then, so that everything that queued up
  // during the previous batch joins the next one.
  bool Idle() const;
  // Called (on the runner thread) each time the runner becomes idle. Set it
  // before traffic starts; it must not block.
  void SetOnIdle(std::function<void()> on_idle);

  const ModelDescription& description() const { return description_; }
  const FormLimits& limits() const { return limits_; }

 private:
  Runner(std::unique_ptr<Model> model, const FormLimits& limits, Clock* clock,
         metrics::Metrics* metrics);
  void Loop();
  void Execute(Batch batch);

  std::unique_ptr<Model> model_;  // touched only by thread_
  const ModelDescription description_;
  const FormLimits limits_;
  const AttentionDims dims_;
  Clock* const clock_;
  metrics::Metrics* const metrics_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // a batch is executing
  std::function<void()> on_idle_ ABSL_GUARDED_BY(mu_);
  std::deque<Batch> inbox_ ABSL_GUARDED_BY(mu_);  // at most one waiting batch
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_RUNNER_H_
