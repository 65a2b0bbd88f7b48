// A FormTimer for tests that returns a scripted timing table: each (form,
// length, batch, chunk size) has a list of samples, returned one per call (the
// last one repeats). A shape without a script is an error, so a calibration
// that times something the test did not expect fails loudly. Each call moves
// an optional FakeClock by a fixed step, so a test controls the climb's time
// budget independently of the timings.
#ifndef LION_TESTS_RUNTIME_SCRIPTED_FORM_TIMER_H_
#define LION_TESTS_RUNTIME_SCRIPTED_FORM_TIMER_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/common/clock.h"
#include "server/runtime/form_timer.h"

namespace lion::runtime {

// Thread-compatible.
class ScriptedFormTimer : public FormTimer {
 public:
  struct Call {
    kernels::Form form;
    int64_t length, batch, chunk_size;
  };

  explicit ScriptedFormTimer(FakeClock* clock = nullptr, Duration step_per_call = Duration(0))
      : clock_(clock), step_(step_per_call) {}

  // Samples (seconds per sequence) of `form` at (length, batch); chunk_size
  // matters for the chunk form only (0 for the others).
  void Script(kernels::Form form, int64_t length, int64_t batch, std::vector<double> samples,
              int64_t chunk_size = 0) {
    scripts_[Key{form, length, batch, form == kernels::Form::kChunk ? chunk_size : 0}] = {
        std::move(samples), 0};
  }
  // One constant time for full, chunk (at `chunk_size`) and RNN at a shape; a
  // negative time leaves that form unscripted.
  void Row(int64_t length, int64_t batch, double full, double chunk, double rnn,
           int64_t chunk_size) {
    if (full >= 0) Script(kernels::Form::kFull, length, batch, {full});
    if (chunk >= 0) Script(kernels::Form::kChunk, length, batch, {chunk}, chunk_size);
    if (rnn >= 0) Script(kernels::Form::kRnn, length, batch, {rnn});
  }

  absl::StatusOr<double> SecondsPerSequence(kernels::Form form, int64_t length, int64_t batch,
                                            int64_t chunk_size) override {
    calls_.push_back({form, length, batch, chunk_size});
    if (clock_ != nullptr) clock_->Advance(step_);
    auto it =
        scripts_.find(Key{form, length, batch, form == kernels::Form::kChunk ? chunk_size : 0});
    if (it == scripts_.end()) {
      return absl::InternalError(absl::StrCat("unscripted: ", kernels::FormName(form), " length ",
                                              length, " batch ", batch, " chunk ", chunk_size));
    }
    Samples& s = it->second;
    const double t = s.values[std::min(s.next, s.values.size() - 1)];
    ++s.next;
    return t;
  }

  const std::vector<Call>& calls() const { return calls_; }

  // How many times `form` was timed at (length, batch).
  int CallsOf(kernels::Form form, int64_t length, int64_t batch) const {
    int n = 0;
    for (const Call& c : calls_) n += c.form == form && c.length == length && c.batch == batch;
    return n;
  }

 private:
  using Key = std::tuple<kernels::Form, int64_t, int64_t, int64_t>;
  struct Samples {
    std::vector<double> values;
    size_t next = 0;
  };
  FakeClock* clock_;
  Duration step_;
  std::map<Key, Samples> scripts_;
  std::vector<Call> calls_;
};

}  // namespace lion::runtime

#endif  // LION_TESTS_RUNTIME_SCRIPTED_FORM_TIMER_H_
