// Open-loop request schedule for a fixed rate: request k (0-based) is due at
// start + k / rate, whatever happened to earlier requests, so a slow server
// does not slow the offered load (no coordinated omission). A caller that
// wakes late gets every overdue slot at once and so catches up.
#ifndef LION_CLIENT_RATE_LIMITER_H_
#define LION_CLIENT_RATE_LIMITER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "server/common/clock.h"

namespace lion::client {

// Copyable; not thread-safe (one dispatcher thread owns it). Pure: time is
// passed in, so tests drive it with any clock.
class RateLimiter {
 public:
  // rate_per_s must be positive and finite.
  static absl::StatusOr<RateLimiter> Create(double rate_per_s, TimePoint start);

  // When the next slot is due.
  TimePoint NextDue() const;
  // Takes the next slot if it is due at `now` (NextDue() <= now).
  bool TryAcquire(TimePoint now);
  // Slots taken so far.
  int64_t acquired() const { return acquired_; }
  double rate_per_s() const { return rate_per_s_; }

 private:
  RateLimiter(double rate_per_s, TimePoint start) : rate_per_s_(rate_per_s), start_(start) {}

  double rate_per_s_;
  TimePoint start_;
  int64_t acquired_ = 0;
};

}  // namespace lion::client

#endif  // LION_CLIENT_RATE_LIMITER_H_
