// The batch policy: a pure function from the waiting requests and the time to
// the next batch (or the time to decide again). No threads, no clocks: the
// Batcher feeds it, tests call it directly.
//
// Rules:
// - Cancelled requests and requests whose deadline has passed are dropped.
// - The oldest live request anchors the next batch (no starvation); only
//   requests of its group (same forced form) join it.
// - Others join nearest-length first while the batch stays within
//   max_batch_size and max_batch_tokens (padded: size x longest) and every
//   length stays within max_length_ratio of the shortest (+ length_slack),
//   which bounds padding waste. The anchor alone may exceed the token budget.
// - The batch goes when it is full (size cap hit, or a candidate did not fit
//   the token budget), when the anchor has waited max_queue_delay, or on flush.
//   Otherwise wake_at says when to look again (anchor's delay expiry or the
//   earliest deadline, whichever is first).
#ifndef LION_SERVER_BATCHING_BATCH_POLICY_H_
#define LION_SERVER_BATCHING_BATCH_POLICY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "server/common/clock.h"

namespace lion::batching {

struct PendingRequest {
  int64_t length = 0;
  TimePoint arrival{};
  TimePoint deadline = TimePoint::max();
  bool cancelled = false;
  int group = 0;  // requests batch only with their own group (e.g. forced form)
};

struct BatchLimits {
  int64_t max_batch_tokens = 16384;
  int64_t max_batch_size = 64;
  Duration max_queue_delay{};
  double max_length_ratio = 2.0;
  int64_t length_slack = 16;
};

struct BatchPlan {
  std::vector<size_t> cancelled;  // indices into pending: complete with CANCELLED
  std::vector<size_t> expired;    // complete with DEADLINE_EXCEEDED
  std::vector<size_t> batch;      // the next batch in arrival order; empty = none yet
  std::optional<TimePoint> wake_at;  // no batch: decide again then (nullopt: on arrival)
};

// `pending` is in arrival order. `flush` sends whatever the anchor's batch
// holds without waiting (used while draining).
BatchPlan PlanBatch(const std::vector<PendingRequest>& pending, TimePoint now,
                    const BatchLimits& limits, bool flush);

}  // namespace lion::batching

#endif  // LION_SERVER_BATCHING_BATCH_POLICY_H_
