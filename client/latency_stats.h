// Latency samples and their summary statistics for the load generator.
#ifndef LION_CLIENT_LATENCY_STATS_H_
#define LION_CLIENT_LATENCY_STATS_H_

#include <cstddef>
#include <vector>

namespace lion::client {

// Collects samples (any unit; the bench uses microseconds). Copyable; not
// thread-safe (the load generator guards it with its own mutex).
class LatencyStats {
 public:
  void Add(double sample);
  void Merge(const LatencyStats& other);

  size_t count() const { return samples_.size(); }
  double Mean() const;  // 0 when empty
  double Min() const;   // 0 when empty
  double Max() const;   // 0 when empty
  // The q-quantile, q in [0, 1], by linear interpolation between the closest
  // order statistics (numpy's default "linear" method): with sorted samples
  // x[0..n-1], h = q * (n - 1), result = x[floor(h)] + (h - floor(h)) *
  // (x[floor(h) + 1] - x[floor(h)]). 0 when empty; q is clamped to [0, 1].
  double Percentile(double q) const;

 private:
  void SortIfNeeded() const;

  mutable std::vector<double> samples_;
  mutable bool sorted_ = true;
  double sum_ = 0;
};

}  // namespace lion::client

#endif  // LION_CLIENT_LATENCY_STATS_H_
