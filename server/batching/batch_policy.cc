#include "server/batching/batch_policy.h"

#include <algorithm>
#include <cstdlib>

namespace lion::batching {
namespace {

// Whether lengths in [lo, hi] are similar enough to share a batch.
bool Similar(int64_t lo, int64_t hi, const BatchLimits& limits) {
  return static_cast<double>(hi) <=
         limits.max_length_ratio * static_cast<double>(lo) + static_cast<double>(limits.length_slack);
}

}  // namespace

BatchPlan PlanBatch(const std::vector<PendingRequest>& pending, TimePoint now,
                    const BatchLimits& limits, bool flush) {
  BatchPlan plan;
  std::vector<size_t> live;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].deadline <= now) {  // gRPC also cancels calls past their deadline
      plan.expired.push_back(i);
    } else if (pending[i].cancelled) {
      plan.cancelled.push_back(i);
    } else {
      live.push_back(i);
    }
  }
  if (live.empty()) return plan;

  const PendingRequest& anchor = pending[live.front()];
  std::vector<size_t> candidates;
  for (size_t k = 1; k < live.size(); ++k) {
    if (pending[live[k]].group == anchor.group) candidates.push_back(live[k]);
  }
  // Nearest length first; ties by arrival (indices are in arrival order).
  std::stable_sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
    return std::llabs(pending[a].length - anchor.length) <
           std::llabs(pending[b].length - anchor.length);
  });

  plan.batch.push_back(live.front());
  int64_t longest = anchor.length, shortest = anchor.length;
  bool full = static_cast<int64_t>(plan.batch.size()) >= limits.max_batch_size;
  for (size_t c : candidates) {
    if (full) break;
    const int64_t len = pending[c].length;
    const int64_t new_longest = std::max(longest, len);
    const int64_t new_shortest = std::min(shortest, len);
    if (!Similar(new_shortest, new_longest, limits)) continue;
    const int64_t size = static_cast<int64_t>(plan.batch.size()) + 1;
    if (size * new_longest > limits.max_batch_tokens) {
      full = true;  // a waiting request did not fit: waiting longer cannot help
      break;
    }
    plan.batch.push_back(c);
    longest = new_longest;
    shortest = new_shortest;
    full = size >= limits.max_batch_size;
  }

  const TimePoint due = anchor.arrival + limits.max_queue_delay;
  if (full || flush || now >= due) {
    std::sort(plan.batch.begin(), plan.batch.end());
    return plan;
  }
  plan.batch.clear();
  TimePoint wake = due;
  for (size_t i : live) wake = std::min(wake, pending[i].deadline);
  plan.wake_at = wake;
  return plan;
}

}  // namespace lion::batching
