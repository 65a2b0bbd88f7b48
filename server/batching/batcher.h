// Batcher: one model's bounded admission queue and the thread that turns it
// into batches with PlanBatch (batch_policy.h), handing each batch to the
// runner through `dispatch` (which may block while the runner is busy; the
// queue keeps filling meanwhile, so batches grow under load).
//
// Thread safety: Submit, Wake and depth are callable from any thread. Not
// copyable. Lifetime: the clock, metrics and whatever `dispatch` uses must
// outlive the Batcher; the destructor calls Stop().
#ifndef LION_SERVER_BATCHING_BATCHER_H_
#define LION_SERVER_BATCHING_BATCHER_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/batching/batch_policy.h"
#include "server/common/clock.h"
#include "server/config/server_options.h"
#include "server/metrics/metrics.h"
#include "server/runtime/request.h"

namespace lion::batching {

struct BatcherOptions {
  std::string model;  // metric label
  config::BatchingOptions limits;
  // When set, a batch is formed only while ready() is true (the runner is
  // idle), so requests that queue up during a batch all join the next one;
  // whoever makes it true again calls Wake(). Expired and cancelled requests
  // are dropped meanwhile. Unset: batches form as soon as the policy says.
  std::function<bool()> ready;
};

class Batcher {
 public:
  using Dispatch = std::function<void(runtime::Batch)>;

  // Errors: INVALID_ARGUMENT for non-positive limits or a missing dispatch.
  static absl::StatusOr<std::unique_ptr<Batcher>> Create(const BatcherOptions& options,
                                                         Clock* clock, metrics::Metrics* metrics,
                                                         Dispatch dispatch);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Admits a request (its `arrival` is set here). On error the request is not
  // admitted and its `done` is NOT called: RESOURCE_EXHAUSTED when the queue
  // holds max_queue_size requests, UNAVAILABLE after Stop().
  absl::Status Submit(std::unique_ptr<runtime::Request> request);

  // Makes the thread look at the queue now (e.g. after a FakeClock moved).
  void Wake();

  // Sends what is queued without waiting for batches to fill (draining).
  void Flush();

  // Stops the thread; requests still queued complete with UNAVAILABLE.
  // Idempotent.
  void Stop();

  int64_t depth() const;

 private:
  Batcher(const BatcherOptions& options, Clock* clock, metrics::Metrics* metrics,
          Dispatch dispatch);
  void Loop();
  // Removes the planned requests from queue_ (under mu_) and returns the
  // batch plus the dropped ones with the status each gets.
  runtime::Batch TakePlanned(const BatchPlan& plan,
                             std::vector<std::pair<std::unique_ptr<runtime::Request>,
                                                   absl::Status>>* dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatcherOptions options_;
  const BatchLimits limits_;
  Clock* const clock_;
  metrics::Metrics* const metrics_;
  const Dispatch dispatch_;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::unique_ptr<runtime::Request>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool flush_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lion::batching

#endif  // LION_SERVER_BATCHING_BATCHER_H_
