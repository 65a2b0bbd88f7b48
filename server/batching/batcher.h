// Batcher: one model's bounded admission queue and the thread that turns it
// into batches with PlanBatch (batch_policy.h), handing each batch to the
// runner through `dispatch` (which may block while the runner is busy; the
// queue keeps filling meanwhile, so batches grow under load).
//
// Admission is bounded by request count (max_queue_size), by queued tokens
// (max_queue_tokens; a request alone in the queue is always admitted, so one
// long document can still run), and by time: once the runner has reported
// what a batch costs it, a request whose estimated queue wait already
// exceeds its deadline is refused at once instead of expiring in the queue.
//
// Locking: the batcher's mutex is never held while it calls out (dispatch,
// completions, reject counters); the runner reports idleness through
// RunnerIdle() from its own thread, holding no lock. Under mu_ only leaves
// are taken: the clock (FakeClock's mutex) and the queue-depth gauge, set
// under mu_ so that concurrent updates land in queue order (prometheus-cpp's
// locks never call back; docs/architecture.md section 5).
//
// Thread safety: every public method is callable from any thread. Not
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
#include "absl/time/time.h"
#include "server/batching/batch_policy.h"
#include "server/common/clock.h"
#include "server/config/server_options.h"
#include "server/metrics/metrics.h"
#include "server/runtime/batch_cost.h"
#include "server/runtime/request.h"

namespace lion::batching {

struct BatcherOptions {
  std::string model;  // metric label
  config::BatchingOptions limits;
  // When true, a batch is formed only while the runner is idle, so requests
  // that queue up during a batch all join the next one: each dispatch marks
  // the runner busy and RunnerIdle() marks it idle again. Expired and
  // cancelled requests are dropped meanwhile. False: batches form as soon as
  // the policy says (dispatch may then block).
  bool wait_for_idle_runner = false;
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
  // holds max_queue_size requests or max_queue_tokens tokens, or when the
  // estimated wait exceeds the request's deadline (each message names the
  // limit); UNAVAILABLE after Stop().
  absl::Status Submit(std::unique_ptr<runtime::Request> request);

  // RESOURCE_EXHAUSTED (counted) when the queue is already full by count, so
  // that a caller can refuse before tokenizing; Submit checks everything.
  absl::Status CheckRoom() const;

  // Makes the thread look at the queue now (e.g. after a FakeClock moved).
  void Wake();

  // The runner finished its batch and has nothing waiting; `cost` is what a
  // batch costs it (unknown: no estimate yet).
  void RunnerIdle(const runtime::BatchCost& cost);

  // From now on, sends what is queued without waiting for batches to fill
  // (draining).
  void Flush();

  // Stops the thread; requests still queued, and any submitted later,
  // complete with UNAVAILABLE "model <name> <why>" (a drain cut short passes
  // its reason, the same words the runner gives its batches). Idempotent: the
  // first call's reason stays.
  void Stop(const std::string& why = "is shutting down");

  int64_t depth() const;
  int64_t queued_tokens() const;

  // For tests that need to know the thread has seen a state: blocks until it
  // has looked at the queue with the clock at or after `at`, acted on what it
  // found (dispatched, dropped) and gone to wait. False after `timeout`.
  bool WaitUntilIdleAt(TimePoint at, absl::Duration timeout) const;

 private:
  Batcher(const BatcherOptions& options, Clock* clock, metrics::Metrics* metrics,
          Dispatch dispatch);
  void Loop();
  // Removes the planned requests from queue_ (under mu_) and returns the
  // batch plus the dropped ones with the status each gets.
  // Why the queue is full by count, or "".
  std::string FullByCount() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why `request` may not join the queue now, or "".
  std::string RefusalReason(const runtime::Request& request, TimePoint now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  runtime::Batch TakePlanned(const BatchPlan& plan,
                             std::vector<std::pair<std::unique_ptr<runtime::Request>,
                                                   absl::Status>>* dropped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BatcherOptions options_;
  const BatchLimits limits_;
  Clock* const clock_;
  metrics::Metrics* const metrics_;
  const Dispatch dispatch_;

  // Never held while calling dispatch_, a request's done, or RunnerIdle's
  // caller; see "Locking" above.
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::unique_ptr<runtime::Request>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_tokens_ ABSL_GUARDED_BY(mu_) = 0;  // sum of queue_'s lengths
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::string stop_why_ ABSL_GUARDED_BY(mu_);  // set with stopping_
  bool flush_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool runner_idle_ ABSL_GUARDED_BY(mu_) = true;
  runtime::BatchCost batch_cost_ ABSL_GUARDED_BY(mu_);
  // The clock reading of the last look at the queue that left nothing to do.
  TimePoint idle_at_ ABSL_GUARDED_BY(mu_) = TimePoint::min();
  std::thread thread_;
};

}  // namespace lion::batching

#endif  // LION_SERVER_BATCHING_BATCHER_H_
