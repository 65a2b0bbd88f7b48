// What a batch costs the runner, fitted from the batches it computed: the
// batcher's estimate of a new request's queue wait (batcher.h).
//
// A batch of n padded tokens takes about overhead + n x per-token seconds.
// A single rate (tokens / seconds) is wrong in both directions: measured on
// small batches (a stream's first request) it charges every queued token the
// per-batch overhead and refuses requests that would finish in time, and
// measured on full batches it undercharges a queue of many small batches.
#ifndef LION_SERVER_RUNTIME_BATCH_COST_H_
#define LION_SERVER_RUNTIME_BATCH_COST_H_

#include <cstdint>

namespace lion::runtime {

struct BatchCost {
  double overhead_s = 0;         // per batch
  double seconds_per_token = 0;  // per padded token
  bool known() const { return overhead_s > 0 || seconds_per_token > 0; }
  // `batches` batches holding `tokens` padded tokens in all.
  double Seconds(int64_t batches, int64_t tokens) const {
    return static_cast<double>(batches) * overhead_s +
           static_cast<double>(tokens) * seconds_per_token;
  }
};

// Least squares of seconds on padded tokens over the recent batches (each
// new batch weighs 1, older ones fade by kForget per batch). Where the fit
// cannot separate overhead from per-token cost (every batch the same size,
// or a slope that is not positive), all of the cost is overhead: for a queue
// of at least one batch that is a lower bound, so the estimate errs towards
// admitting. Not thread-safe (the runner thread owns it).
class BatchCostModel {
 public:
  static constexpr double kForget = 0.9;

  void Add(int64_t padded_tokens, double seconds);
  BatchCost Estimate() const;

 private:
  double w_ = 0, x_ = 0, y_ = 0, xx_ = 0, xy_ = 0;  // weighted sums
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_BATCH_COST_H_
