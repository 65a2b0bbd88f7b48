// Where the calibration gets its timings from: seconds per sequence of one
// attention form at one shape. The server times the attention core alone
// (attention_timer.h); tests use fakes that return a scripted table.
#ifndef LION_SERVER_RUNTIME_FORM_TIMER_H_
#define LION_SERVER_RUNTIME_FORM_TIMER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"

namespace lion::runtime {

// Thread-compatible: one caller at a time. Not copyable.
class FormTimer {
 public:
  virtual ~FormTimer() = default;

  // Best seconds per sequence of one call of `form` over `batch` sequences of
  // `length` tokens, with `chunk_size` for the chunk form.
  virtual absl::StatusOr<double> SecondsPerSequence(kernels::Form form, int64_t length,
                                                    int64_t batch, int64_t chunk_size) = 0;
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_FORM_TIMER_H_
