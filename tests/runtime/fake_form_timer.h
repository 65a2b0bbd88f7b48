// A FormTimer for tests: seconds per sequence from a formula, every call
// recorded, and a FakeClock advanced by each call's whole-batch time.
#ifndef LION_TESTS_RUNTIME_FAKE_FORM_TIMER_H_
#define LION_TESTS_RUNTIME_FAKE_FORM_TIMER_H_

#include <chrono>
#include <functional>
#include <vector>

#include "server/common/clock.h"
#include "server/runtime/form_timer.h"

namespace lion::runtime {

struct TimedCall {
  kernels::Form form;
  int64_t length, batch, chunk_size;
};

// Thread-compatible.
class FakeFormTimer : public FormTimer {
 public:
  // Seconds per sequence of (form, length, batch, chunk_size).
  using Cost = std::function<double(kernels::Form, int64_t, int64_t, int64_t)>;
  explicit FakeFormTimer(Cost cost, FakeClock* clock = nullptr)
      : cost_(std::move(cost)), clock_(clock) {}

  absl::StatusOr<double> SecondsPerSequence(kernels::Form form, int64_t length, int64_t batch,
                                            int64_t chunk_size) override {
    calls_.push_back({form, length, batch, chunk_size});
    const double t = cost_(form, length, batch, chunk_size);
    if (clock_ != nullptr) {
      clock_->Advance(
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t * batch)));
    }
    return t;
  }

  const std::vector<TimedCall>& calls() const { return calls_; }

 private:
  Cost cost_;
  FakeClock* clock_;
  std::vector<TimedCall> calls_;
};

}  // namespace lion::runtime

#endif  // LION_TESTS_RUNTIME_FAKE_FORM_TIMER_H_
