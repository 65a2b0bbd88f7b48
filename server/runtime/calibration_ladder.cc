#include "server/runtime/calibration_ladder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>

#include "absl/strings/match.h"
#include "server/common/status_macros.h"
#include "server/runtime/runner.h"

namespace lion::runtime {
namespace {

using kernels::Form;

// The linear forms' cost per token is taken as settled when it moved by less
// than this between two lengths (both are O(L): longer inputs cost the same
// per token, so they would be decided the same way).
constexpr double kSettled = 0.1;

// A best time counts as confirmed once another sample lies within this factor.
constexpr double kConfirmed = 1.05;

// The best and second-best of one quantity's samples.
class BestOf {
 public:
  void Add(double t) {
    if (t < best_) {
      second_ = best_;
      best_ = t;
    } else if (t < second_) {
      second_ = t;
    }
  }
  double best() const { return best_; }
  bool confirmed() const { return second_ <= kConfirmed * best_; }

 private:
  double best_ = std::numeric_limits<double>::infinity();
  double second_ = std::numeric_limits<double>::infinity();
};

double SecondsSince(Clock* clock, TimePoint start) {
  return std::chrono::duration<double>(clock->Now() - start).count();
}

// Rounds of `time_one(i)` over items 0..n-1, as CalibrationPlan describes;
// rounds past min_rounds only while the stage that began at `start` is within
// its budget (on a loaded machine they could otherwise take long).
template <typename TimeOne>
absl::StatusOr<std::vector<BestOf>> TimeInRounds(const CalibrationPlan& plan, Clock* clock,
                                                 TimePoint start, size_t n, TimeOne time_one) {
  std::vector<BestOf> samples(n);
  const int min_rounds = std::max(1, plan.min_rounds);
  const int max_rounds = std::max(min_rounds, plan.max_rounds);
  for (int round = 0; round < max_rounds; ++round) {
    for (size_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(double t, time_one(i));
      samples[i].Add(t);
    }
    if (round + 1 < min_rounds) continue;
    const bool confirmed =
        std::all_of(samples.begin(), samples.end(), [](const BestOf& b) { return b.confirmed(); });
    if (confirmed || SecondsSince(clock, start) > plan.climb_budget_seconds) break;
  }
  return samples;
}

// Below this length a full-form probe costs about as much as the call it would save.
constexpr int64_t kShortestProbe = 64;

int FormIndex(Form form) {
  for (size_t i = 0; i < std::size(kCalibratedForms); ++i) {
    if (kCalibratedForms[i] == form) return static_cast<int>(i);
  }
  return 0;
}

bool Fits(const CalibrationPlan& plan, Form form, int64_t batch, int64_t length,
          int64_t chunk_size) {
  return AttentionMemoryBytes(form, plan.dims, batch, length, chunk_size) <=
         plan.memory_budget_bytes;
}

bool Settled(const FormTimes& before, const FormTimes& now) {
  for (Form f : {Form::kChunk, Form::kRnn}) {
    const std::optional<double> a = before.Of(f), b = now.Of(f);
    if (!a.has_value() || !b.has_value()) return false;
    const double per_token_ratio = (*b / now.length) / (*a / before.length);
    if (std::abs(per_token_ratio - 1.0) > kSettled) return false;
  }
  auto chunk_wins = [](const FormTimes& r) { return *r.Of(Form::kChunk) <= *r.Of(Form::kRnn); };
  return chunk_wins(before) == chunk_wins(now);
}

// One regime (one batch size) of the climb.
class Climb {
 public:
  Climb(FormTimer& timer, const CalibrationPlan& plan, Clock* clock, int64_t batch,
        int64_t chunk_size)
      : timer_(timer),
        plan_(plan),
        clock_(clock),
        start_(clock->Now()),
        batch_(batch),
        chunk_size_(chunk_size) {}

  absl::StatusOr<std::vector<FormTimes>> Run() {
    std::vector<FormTimes> rows;
    bool full_alive = true;
    for (int64_t length : plan_.lengths) {
      std::vector<Form> forms;
      for (Form f : {Form::kChunk, Form::kRnn}) {
        if (Fits(plan_, f, batch_, length, chunk_size_)) forms.push_back(f);
      }
      const bool full = full_alive && Fits(plan_, Form::kFull, batch_, length, chunk_size_);
      const bool probe = full && ProbeFirst(length);
      if (full && !probe) forms.push_back(Form::kFull);
      ASSIGN_OR_RETURN(FormTimes row, TimeRounds(forms, length));
      if (probe) {
        ASSIGN_OR_RETURN(const bool too_slow, FullProvenTooSlow(length, row.Best()));
        if (!too_slow) {
          forms.push_back(Form::kFull);
          ASSIGN_OR_RETURN(row, TimeRounds(forms, length));  // afresh, so all forms share rounds
        }
      }
      rows.push_back(row);
      if (plan_.prune && !NearBest(row, Form::kFull)) full_alive = false;
      if (!plan_.open_ended) continue;
      double slowest_call = 0;
      for (const auto& t : row.seconds)
        slowest_call = std::max(slowest_call, t.value_or(0) * batch_);
      if (slowest_call > plan_.max_call_seconds) break;
      if (SecondsSince(clock_, start_) > plan_.climb_budget_seconds) break;
      if (plan_.prune && !full_alive && rows.size() >= 2 && Settled(rows[rows.size() - 2], row)) {
        break;
      }
    }
    return rows;
  }

 private:
  // Each form's best over rounds of one call each.
  absl::StatusOr<FormTimes> TimeRounds(const std::vector<Form>& forms, int64_t length) {
    ASSIGN_OR_RETURN(std::vector<BestOf> samples,
                     TimeInRounds(plan_, clock_, start_, forms.size(), [&](size_t i) {
                       return timer_.SecondsPerSequence(forms[i], length, batch_, chunk_size_);
                     }));
    FormTimes row;
    row.length = length;
    for (size_t i = 0; i < forms.size(); ++i) {
      row.seconds[static_cast<size_t>(FormIndex(forms[i]))] = samples[i].best();
    }
    return row;
  }

  // A vision model decides at one long length, where the full form is the
  // costliest to time. Its cost per sequence grows with the length, so if it is
  // already too slow at a quarter or half of it, it is too slow there too.
  bool ProbeFirst(int64_t length) const {
    return !plan_.open_ended && plan_.prune && length / 4 >= kShortestProbe;
  }

  absl::StatusOr<bool> FullProvenTooSlow(int64_t length, std::optional<double> best_linear) {
    if (!best_linear.has_value()) return false;
    for (int64_t shorter : {length / 4, length / 2}) {
      ASSIGN_OR_RETURN(FormTimes probe, TimeRounds({Form::kFull}, shorter));
      if (*probe.Of(Form::kFull) > kSlack * *best_linear) return true;
    }
    return false;
  }

  FormTimer& timer_;
  const CalibrationPlan& plan_;
  Clock* const clock_;
  const TimePoint start_;
  const int64_t batch_;
  const int64_t chunk_size_;
};

}  // namespace

std::vector<int64_t> GeometricLadder(int64_t last) {
  std::vector<int64_t> lengths;
  for (int64_t l = 32; l < last; l *= 2) lengths.push_back(l);
  lengths.push_back(std::max<int64_t>(1, last));
  return lengths;
}

CalibrationPlan PlanFor(const ModelDescription& d, int64_t max_length,
                        const config::FormOptions& form) {
  CalibrationPlan plan;
  if (d.architecture == Architecture::kVit) {
    const int64_t side = d.patch_size > 0 ? d.image_size / d.patch_size : 0;
    plan.lengths = {side * side + 1};  // every image is resized to image_size: patches + CLS
    plan.open_ended = false;
    plan.chunk_length = plan.lengths[0];
  } else {
    plan.lengths = GeometricLadder(max_length);
    plan.chunk_length = std::min<int64_t>(plan.lengths.back(), 512);
  }
  plan.pinned_chunk_size = form.chunk_size;
  plan.dims = DimsOf(d);
  // On a GPU the budget comes from the free memory at start-up (not an input
  // the cache could key on), and every CUDA form's memory is O(L): nothing
  // is skipped for memory there.
  plan.memory_budget_bytes = absl::StartsWith(d.device, "cuda")
                                 ? std::numeric_limits<int64_t>::max()
                                 : form.memory_budget_bytes;
  return plan;
}

absl::StatusOr<TimingTable> MeasureTable(FormTimer& timer, const CalibrationPlan& plan,
                                         Clock* clock) {
  TimingTable table;
  table.chunk_length = plan.chunk_length;
  table.chunk_size = plan.pinned_chunk_size;
  if (table.chunk_size <= 0) {
    ASSIGN_OR_RETURN(
        std::vector<BestOf> samples,
        TimeInRounds(plan, clock, clock->Now(), plan.chunk_candidates.size(), [&](size_t i) {
          return timer.SecondsPerSequence(Form::kChunk, plan.chunk_length, kCalibrationBatch,
                                          plan.chunk_candidates[i]);
        }));
    for (size_t i = 0; i < samples.size(); ++i) {
      table.chunk_sizes.push_back({plan.chunk_candidates[i], samples[i].best()});
    }
    table.chunk_size = FastestChunkSize(table.chunk_sizes, 64);
  }
  ASSIGN_OR_RETURN(table.batched,
                   Climb(timer, plan, clock, kCalibrationBatch, table.chunk_size).Run());
  ASSIGN_OR_RETURN(table.single, Climb(timer, plan, clock, 1, table.chunk_size).Run());
  return table;
}

}  // namespace lion::runtime
