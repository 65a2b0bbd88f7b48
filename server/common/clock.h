// Injectable time source: the batcher and deadlines read time through Clock so
// tests can drive them with a FakeClock and run in milliseconds.
#ifndef LION_SERVER_COMMON_CLOCK_H_
#define LION_SERVER_COMMON_CLOCK_H_

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace lion {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// Thread-safe; implementations must be callable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // The process-wide real clock (never destroyed).
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  TimePoint now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lion

#endif  // LION_SERVER_COMMON_CLOCK_H_
