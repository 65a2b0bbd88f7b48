#include "client/rate_limiter.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace lion::client {

absl::StatusOr<RateLimiter> RateLimiter::Create(double rate_per_s, TimePoint start) {
  if (!(rate_per_s > 0) || !std::isfinite(rate_per_s)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate must be a positive number, got ", rate_per_s));
  }
  return RateLimiter(rate_per_s, start);
}

TimePoint RateLimiter::NextDue() const {
  // Computed from the slot index (not by adding intervals) so rounding does
  // not accumulate over long runs.
  const std::chrono::duration<double> offset(static_cast<double>(acquired_) / rate_per_s_);
  return start_ + std::chrono::duration_cast<Duration>(offset);
}

bool RateLimiter::TryAcquire(TimePoint now) {
  if (NextDue() > now) return false;
  ++acquired_;
  return true;
}

}  // namespace lion::client
