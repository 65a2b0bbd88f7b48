#include "client/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace lion::client {

absl::Status RetryPolicy::Validate() const {
  if (max_attempts < 1) return absl::InvalidArgumentError("retry: max_attempts must be >= 1");
  if (initial_backoff.count() < 0 || max_backoff < initial_backoff) {
    return absl::InvalidArgumentError("retry: need 0 <= initial_backoff <= max_backoff");
  }
  if (!(multiplier >= 1.0)) return absl::InvalidArgumentError("retry: multiplier must be >= 1");
  return absl::OkStatus();
}

Duration RetryPolicy::BackoffBefore(int retry) const {
  const double ms =
      static_cast<double>(initial_backoff.count()) * std::pow(multiplier, std::max(0, retry - 1));
  const double capped = std::min(ms, static_cast<double>(max_backoff.count()));
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(capped));
}

absl::Status RunWithRetry(const RetryPolicy& policy, TimePoint deadline, const Clock& clock,
                          const std::function<void(Duration)>& sleep,
                          const std::function<absl::Status()>& attempt) {
  absl::Status status = attempt();
  for (int retry = 1; retry < policy.max_attempts && absl::IsUnavailable(status); ++retry) {
    const Duration wait = policy.BackoffBefore(retry);
    if (clock.Now() + wait >= deadline) break;
    sleep(wait);
    status = attempt();
  }
  return status;
}

}  // namespace lion::client
