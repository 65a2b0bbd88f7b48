// DrainGate: counts the calls in progress and, once draining starts, turns
// new ones away, so that shutdown can wait for exactly the admitted work.
// A call enters on arrival (before any parsing or tokenizing) and holds its
// Pass until its response is handed to gRPC; stream messages enter one by
// one. Thread-safe. Not copyable. Must outlive every Pass.
#ifndef LION_SERVER_API_DRAIN_GATE_H_
#define LION_SERVER_API_DRAIN_GATE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lion::api {

class DrainGate {
 public:
  // One call in progress; leaving is the destructor. Move-only.
  class Pass {
   public:
    Pass(Pass&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
    Pass& operator=(Pass&&) = delete;
    Pass(const Pass&) = delete;
    ~Pass();

   private:
    friend class DrainGate;
    explicit Pass(DrainGate* gate) : gate_(gate) {}
    DrainGate* gate_;
  };

  DrainGate() = default;
  DrainGate(const DrainGate&) = delete;
  DrainGate& operator=(const DrainGate&) = delete;

  // A pass, or UNAVAILABLE (saying the server is draining) after BeginDrain().
  absl::StatusOr<std::shared_ptr<Pass>> Enter();

  // From now on Enter() refuses. Idempotent.
  void BeginDrain();
  bool draining() const { return draining_.load(); }

  // Blocks until no pass is held (true), or until `deadline` passes or
  // `*interrupt` becomes true (false; `interrupt` is polled, may be null).
  bool WaitIdle(absl::Time deadline, const std::atomic<bool>* interrupt) const;

  int64_t in_flight() const;

 private:
  void Leave();

  std::atomic<bool> draining_{false};
  mutable absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_DRAIN_GATE_H_
