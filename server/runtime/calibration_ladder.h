// How a calibration climbs its lengths, and the climb itself: which forms are
// timed at which lengths, on any FormTimer. A length is timed only while it can
// still change the decision: the full form stops at the first length where it
// is not near the best (its limit is the run of lengths from the shortest where
// it is), forms over the memory budget are never timed (the policy never picks
// them), an open-ended ladder stops once the linear forms' cost per token has
// settled, one call gets slow or its time budget is spent, and a vision
// model's full form is first timed at shorter lengths that can prove it too
// slow for the image's length. docs/calibration.md has the reasons.
#ifndef LION_SERVER_RUNTIME_CALIBRATION_LADDER_H_
#define LION_SERVER_RUNTIME_CALIBRATION_LADDER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/config/server_options.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/form_timer.h"
#include "server/runtime/model.h"
#include "server/runtime/timing_table.h"

namespace lion::runtime {

// Copyable.
struct CalibrationPlan {
  // Lengths at which thresholds are decided, increasing.
  std::vector<int64_t> lengths;
  // Text: inputs may have any length up to the last, so the climb may stop
  // early (longer inputs follow the longest length timed). Vision: every
  // input has the image's length, the only one in `lengths`.
  bool open_ended = true;
  // Stop timing a form once it can no longer change the decision. Off: every
  // form at every length (for comparisons).
  bool prune = true;
  // Each length is timed in rounds, every form once per round, and each form
  // keeps its best: a slow phase of a shared machine then hits all forms alike
  // instead of one. After min_rounds, rounds go on (up to max_rounds) until
  // each form's best was met again within 5% by another of its samples, so
  // that on a loaded machine a best that is still inflated does not decide.
  int min_rounds = 3;
  int max_rounds = 8;
  // An open-ended climb stops after a length where one call (a whole batch)
  // took longer than this, or once it has spent this long on one batch size.
  // Past that budget, rounds also stop at min_rounds (in any climb, and for
  // the chunk sizes).
  double max_call_seconds = 0.1;
  double climb_budget_seconds = 2.0;
  // Chunk sizes compared at chunk_length, batched; a pinned size skips that.
  std::vector<int64_t> chunk_candidates = {32, 64, 128};
  int64_t chunk_length = 512;
  int64_t pinned_chunk_size = 0;
  AttentionDims dims;
  int64_t memory_budget_bytes = int64_t{1} << 30;
};

// 32, 64, ... below `last`, then `last`; {last} when last <= 32.
std::vector<int64_t> GeometricLadder(int64_t last);

// The plan for a model whose inputs have at most `max_length` tokens (text)
// or the image's token count (vision), under the flags' pins and budget.
CalibrationPlan PlanFor(const ModelDescription& description, int64_t max_length,
                        const config::FormOptions& form);

// Times what the plan asks on `timer`: the chunk sizes, then every length for
// a batch of kCalibrationBatch and for one request. `clock` (borrowed) measures
// the climb's budget. Errors: the timer's.
absl::StatusOr<TimingTable> MeasureTable(FormTimer& timer, const CalibrationPlan& plan,
                                         Clock* clock);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_CALIBRATION_LADDER_H_
