// What a calibration measured (seconds per sequence of each attention form at
// each length, for a lone request and for a batch) and the pure rules that
// turn it into the form policy's thresholds. No clock, no LibTorch: the rules
// are unit-tested on made-up tables.
#ifndef LION_SERVER_RUNTIME_TIMING_TABLE_H_
#define LION_SERVER_RUNTIME_TIMING_TABLE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "lion/kernels/attention_options.h"
#include "server/runtime/form_policy.h"

namespace lion::runtime {

// The forms in the order of FormTimes::seconds.
inline constexpr kernels::Form kCalibratedForms[] = {kernels::Form::kFull, kernels::Form::kChunk,
                                                     kernels::Form::kRnn};

// Served traffic comes alone or batched; which form is fastest depends on
// both, so each gets its own thresholds. Batches are timed at this size.
inline constexpr int64_t kCalibrationBatch = 4;

// A form counts as fast enough where it is within this factor of the fastest:
// best-of-N timings of one shape differ by a few percent between runs.
inline constexpr double kSlack = 1.05;

// One length's timings. Copyable.
struct FormTimes {
  int64_t length = 0;
  // Seconds per sequence of full, chunk and RNN; nullopt where the form was not
  // timed (it could no longer be chosen there, or it exceeds the memory budget).
  std::array<std::optional<double>, 3> seconds;

  std::optional<double> Of(kernels::Form form) const;
  // The fastest timed form's seconds; nullopt when none was timed.
  std::optional<double> Best() const;
};

struct ChunkTiming {
  int64_t chunk_size = 0;
  double seconds = 0;  // per sequence, batched, at TimingTable::chunk_length
};

// Everything one calibration measured. Copyable.
struct TimingTable {
  int64_t chunk_length = 0;
  std::vector<ChunkTiming> chunk_sizes;  // empty when the chunk size is pinned
  int64_t chunk_size = 0;                // the one the rows below were timed with
  std::vector<FormTimes> batched;        // batches of kCalibrationBatch, by length
  std::vector<FormTimes> single;         // lone requests, by length
};

// Timed, and within kSlack of the fastest timed form of its row.
bool NearBest(const FormTimes& row, kernels::Form form);

// Thresholds from rows of increasing length, such that the form the policy
// picks is within kSlack of the fastest at every row: full up to the longest
// length to which it stays near the best; RNN from the shortest length from
// which it stays near the best, if it is the fastest at the longest length
// (longer inputs follow the longest length measured). No rows: zeros.
FormThresholds DeriveThresholds(const std::vector<FormTimes>& rows);

// The fastest chunk size (the first on ties); `fallback` when none was timed.
int64_t FastestChunkSize(const std::vector<ChunkTiming>& timings, int64_t fallback);

// The form policy's limits a calibration found. Copyable.
struct Calibration {
  int64_t full_max_tokens = 0;
  int64_t chunk_size = 64;
  int64_t rnn_min_tokens = 0;  // 0: the RNN form never won on time
  // The limits above are for batches of several requests; these for one alone.
  FormThresholds single;
};

// Batched thresholds from table.batched, single from table.single, and the
// chunk size the table was timed with.
Calibration DeriveCalibration(const TimingTable& table);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_TIMING_TABLE_H_
