#include "server/api/drain_gate.h"

#include <algorithm>

namespace lion::api {

DrainGate::Pass::~Pass() {
  if (gate_ != nullptr) gate_->Leave();
}

absl::StatusOr<std::shared_ptr<DrainGate::Pass>> DrainGate::Enter() {
  absl::MutexLock lock(&mu_);
  // Checked under mu_, so a call either is counted before WaitIdle looks or
  // sees the drain.
  if (draining_.load()) {
    return absl::UnavailableError(
        "lion-serve is shutting down (draining after SIGTERM) and takes no new requests; "
        "retry on another replica");
  }
  ++in_flight_;
  return std::shared_ptr<Pass>(new Pass(this));
}

void DrainGate::BeginDrain() {
  absl::MutexLock lock(&mu_);
  draining_.store(true);
}

void DrainGate::Leave() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

bool DrainGate::WaitIdle(absl::Time deadline, const std::atomic<bool>* interrupt) const {
  // Poll the interrupt flag at least this often (a signal cannot notify mu_).
  constexpr absl::Duration kPoll = absl::Milliseconds(20);
  absl::MutexLock lock(&mu_);
  while (in_flight_ > 0) {
    if (interrupt != nullptr && interrupt->load()) return false;
    const absl::Time now = absl::Now();
    if (now >= deadline) return false;
    mu_.AwaitWithDeadline(absl::Condition(+[](const int64_t* n) { return *n == 0; }, &in_flight_),
                          std::min(deadline, now + kPoll));
  }
  return true;
}

int64_t DrainGate::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

}  // namespace lion::api
