#include "client/latency_stats.h"

#include <algorithm>
#include <cmath>

namespace lion::client {

void LatencyStats::Add(double sample) {
  if (!samples_.empty() && sample < samples_.back()) sorted_ = false;
  samples_.push_back(sample);
  sum_ += sample;
}

void LatencyStats::Merge(const LatencyStats& other) {
  for (double s : other.samples_) Add(s);
}

double LatencyStats::Mean() const {
  return samples_.empty() ? 0.0 : sum_ / static_cast<double>(samples_.size());
}

double LatencyStats::Min() const {
  SortIfNeeded();
  return samples_.empty() ? 0.0 : samples_.front();
}

double LatencyStats::Max() const {
  SortIfNeeded();
  return samples_.empty() ? 0.0 : samples_.back();
}

double LatencyStats::Percentile(double q) const {
  if (samples_.empty()) return 0.0;
  SortIfNeeded();
  q = std::clamp(q, 0.0, 1.0);
  const double h = q * static_cast<double>(samples_.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, samples_.size() - 1);
  return samples_[lo] + (h - static_cast<double>(lo)) * (samples_[hi] - samples_[lo]);
}

void LatencyStats::SortIfNeeded() const {
  if (sorted_) return;
  std::sort(samples_.begin(), samples_.end());
  sorted_ = true;
}

}  // namespace lion::client
