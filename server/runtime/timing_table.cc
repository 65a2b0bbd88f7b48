#include "server/runtime/timing_table.h"

#include <algorithm>

namespace lion::runtime {

std::optional<double> FormTimes::Of(kernels::Form form) const {
  for (size_t i = 0; i < seconds.size(); ++i) {
    if (kCalibratedForms[i] == form) return seconds[i];
  }
  return std::nullopt;
}

std::optional<double> FormTimes::Best() const {
  std::optional<double> best;
  for (const auto& t : seconds) {
    if (t.has_value() && (!best.has_value() || *t < *best)) best = t;
  }
  return best;
}

bool NearBest(const FormTimes& row, kernels::Form form) {
  const std::optional<double> t = row.Of(form);
  return t.has_value() && *t <= kSlack * *row.Best();
}

FormThresholds DeriveThresholds(const std::vector<FormTimes>& rows) {
  FormThresholds th;
  if (rows.empty()) return th;
  for (size_t i = 0; i < rows.size() && NearBest(rows[i], kernels::Form::kFull); ++i) {
    th.full_max_tokens = rows[i].length;
  }
  const FormTimes& last = rows.back();
  const std::optional<double> rnn = last.Of(kernels::Form::kRnn);
  if (rnn.has_value() && *rnn <= *last.Best()) {
    size_t from = rows.size() - 1;
    while (from > 0 && NearBest(rows[from - 1], kernels::Form::kRnn)) --from;
    th.rnn_min_tokens = rows[from].length;
    if (th.full_max_tokens >= th.rnn_min_tokens) th.full_max_tokens = th.rnn_min_tokens - 1;
  }
  return th;
}

int64_t FastestChunkSize(const std::vector<ChunkTiming>& timings, int64_t fallback) {
  const ChunkTiming* best = nullptr;
  for (const ChunkTiming& t : timings) {
    if (best == nullptr || t.seconds < best->seconds) best = &t;
  }
  return best == nullptr ? fallback : best->chunk_size;
}

Calibration DeriveCalibration(const TimingTable& table) {
  Calibration c;
  const FormThresholds batched = DeriveThresholds(table.batched);
  c.full_max_tokens = batched.full_max_tokens;
  c.rnn_min_tokens = batched.rnn_min_tokens;
  c.chunk_size = table.chunk_size;
  c.single = DeriveThresholds(table.single);
  return c;
}

}  // namespace lion::runtime
