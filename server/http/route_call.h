// RouteCall: one HTTP request as a route handler sees it. HTTP handlers run
// on cpp-httplib's worker threads, which stay with their connection; a
// handler starts its work through the Dispatcher (the same path as gRPC:
// tokenizing on the pool for large inputs, the model's batcher) and waits
// for the completion, at most until the request's deadline (--http_timeout_s)
// plus a short grace for a batch that overran it; then it answers
// DEADLINE_EXCEEDED and marks the call cancelled so the runner drops it.
// Not thread-safe: one per request, on its handler's thread.
#ifndef LION_SERVER_HTTP_ROUTE_CALL_H_
#define LION_SERVER_HTTP_ROUTE_CALL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/api/dispatcher.h"

namespace lion::http {

class RouteCall {
 public:
  RouteCall(api::Dispatcher* dispatcher, TimePoint deadline)
      : dispatcher_(dispatcher), label_(std::make_shared<std::string>()) {
    options_.deadline = deadline;
  }

  api::Dispatcher& dispatcher() const { return *dispatcher_; }
  const api::CallOptions& options() const { return options_; }
  // The resolved model name (metric label); routes may set it.
  const std::shared_ptr<std::string>& label() const { return label_; }
  // lion_requests_total's method for this call; empty: not counted there.
  std::string method;

  // Runs `start`, which must make its reply be called once, and waits.
  template <typename Resp>
  absl::StatusOr<Resp> Await(const std::function<void(api::Reply<Resp>)>& start);

  // Runs every request of Task through Dispatcher::Run at once (they batch
  // together) and waits for all; the first error fails the call and cancels
  // the rest.
  template <typename Task>
  absl::StatusOr<std::vector<typename Task::Resp>> RunAll(
      std::vector<std::shared_ptr<typename Task::Req>> requests);

 private:
  // The absl::Time to stop waiting at.
  absl::Time WaitUntil() const;

  api::Dispatcher* const dispatcher_;
  api::CallOptions options_;
  std::shared_ptr<std::string> label_;
};

// The results of n replies, filled from any thread.
template <typename Resp>
struct ReplySlots {
  explicit ReplySlots(size_t n) : values(n), left(n) {}
  absl::Mutex mu;
  std::vector<std::optional<Resp>> values ABSL_GUARDED_BY(mu);
  size_t left ABSL_GUARDED_BY(mu);
  absl::Status error ABSL_GUARDED_BY(mu);
};

inline absl::Time RouteCall::WaitUntil() const {
  if (options_.deadline == TimePoint::max()) return absl::InfiniteFuture();
  const Duration left = options_.deadline - dispatcher_->context().clock->Now();
  // A batch that started before the deadline finishes its layer and answers.
  return absl::Now() + absl::FromChrono(left) + absl::Seconds(1);
}

template <typename Resp>
absl::StatusOr<Resp> RouteCall::Await(const std::function<void(api::Reply<Resp>)>& start) {
  auto slots = std::make_shared<ReplySlots<Resp>>(1);
  start([slots](absl::StatusOr<Resp> r) {
    absl::MutexLock lock(&slots->mu);
    if (r.ok()) {
      slots->values[0] = *std::move(r);
    } else {
      slots->error = r.status();
    }
    slots->left = 0;
  });
  absl::MutexLock lock(&slots->mu);
  auto done = [&slots]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slots->mu) { return slots->left == 0; };
  slots->mu.AwaitWithDeadline(absl::Condition(&done), WaitUntil());
  if (slots->left > 0) {
    options_.cancelled->store(true);
    return absl::DeadlineExceededError(
        "no answer within the request's deadline (--http_timeout_s)");
  }
  if (!slots->error.ok()) return slots->error;
  return *std::move(slots->values[0]);
}

template <typename Task>
absl::StatusOr<std::vector<typename Task::Resp>> RouteCall::RunAll(
    std::vector<std::shared_ptr<typename Task::Req>> requests) {
  using Resp = typename Task::Resp;
  auto slots = std::make_shared<ReplySlots<Resp>>(requests.size());
  const std::shared_ptr<std::atomic<bool>> cancelled = options_.cancelled;
  for (size_t i = 0; i < requests.size(); ++i) {
    dispatcher_->Run<Task>(
        std::move(requests[i]), options_,
        [slots, cancelled, i](absl::StatusOr<Resp> r) {
          absl::MutexLock lock(&slots->mu);
          if (r.ok()) {
            slots->values[i] = *std::move(r);
          } else if (slots->error.ok()) {
            slots->error = r.status();
            cancelled->store(true);
          }
          --slots->left;
        },
        label_);
  }
  absl::MutexLock lock(&slots->mu);
  auto done = [&slots]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(slots->mu) { return slots->left == 0; };
  slots->mu.AwaitWithDeadline(absl::Condition(&done), WaitUntil());
  if (slots->left > 0) {
    cancelled->store(true);
    return absl::DeadlineExceededError(
        "no answer within the request's deadline (--http_timeout_s)");
  }
  if (!slots->error.ok()) return slots->error;
  std::vector<Resp> out;
  out.reserve(slots->values.size());
  for (auto& v : slots->values) out.push_back(*std::move(v));
  return out;
}

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_ROUTE_CALL_H_
