// Retries of unary calls: only UNAVAILABLE is retried (the server was not
// reachable, not ready or draining, so the request was not computed), with
// exponential backoff and a bounded number of attempts.
#ifndef LION_CLIENT_RETRY_POLICY_H_
#define LION_CLIENT_RETRY_POLICY_H_

#include <chrono>
#include <functional>

#include "absl/status/status.h"
#include "server/common/clock.h"

namespace lion::client {

// Copyable value type.
struct RetryPolicy {
  int max_attempts = 3;  // total attempts including the first; 1 = no retries
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
  double multiplier = 2.0;

  absl::Status Validate() const;
  // The wait before retry number `retry` (1 = before the second attempt):
  // initial_backoff * multiplier^(retry - 1), capped at max_backoff.
  Duration BackoffBefore(int retry) const;
};

// Calls `attempt` until it returns anything but UNAVAILABLE, the policy's
// attempts are used up, or the next backoff would end after `deadline`.
// Returns the last attempt's status. `sleep` waits the given time (tests pass
// one that advances a FakeClock). `clock` and `sleep` are borrowed.
absl::Status RunWithRetry(const RetryPolicy& policy, TimePoint deadline, const Clock& clock,
                          const std::function<void(Duration)>& sleep,
                          const std::function<absl::Status()>& attempt);

}  // namespace lion::client

#endif  // LION_CLIENT_RETRY_POLICY_H_
