// The calibration's timer on the real thing: kernels::LionAttention alone (the
// only part of a forward whose cost depends on the form), on random q, k, v
// and log-decays with the model's heads, head size, variant, normalisation and
// orders, on the model's device. Depth and width of the rest of the model do
// not enter, so calibrating takes seconds whatever the model.
// LibTorch stays in the .cc (like torch_model.cc).
#ifndef LION_SERVER_RUNTIME_ATTENTION_TIMER_H_
#define LION_SERVER_RUNTIME_ATTENTION_TIMER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/runtime/form_timer.h"
#include "server/runtime/model.h"

namespace lion::runtime {

// Copyable.
struct AttentionTimerOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N": where the tensors live
  // q, k and v in the model's dtype ("float32"; on CUDA also "bfloat16",
  // "float16"); the log-decays are float32 as in the models.
  std::string dtype = "float32";
  int64_t heads = 1;
  int64_t head_dim = 64;
  int64_t orders = 1;         // 2: the two-order vision models (two scans, summed)
  std::string variant = "d";  // "lit" (no decay) | "d" (one per head) | "s" (per token)
  bool normalize = false;     // vision divides by the denominator, MLM does not
  bool padded = false;        // text batches carry lengths (right padding)
  int64_t threads = 0;        // intra-op threads of the timing thread; 0 keeps them
  Clock* clock = nullptr;     // nullptr: the real clock. Borrowed, must outlive the timer
  // Called before each clock reading so the time covers finished work: device
  // work is asynchronous on CUDA. Empty: the device's own synchronisation (none
  // on the CPU).
  std::function<void()> synchronize;
  // Best of at least this many calls, and more while they took under
  // min_total_seconds together (short calls are noisy), at most max_calls.
  // The calibration repeats each measurement in rounds across forms itself.
  int min_calls = 1;
  int max_calls = 50;
  double min_total_seconds = 0.002;

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the field
};

// The options that reproduce a model's attention core.
AttentionTimerOptions AttentionTimerOptionsFor(const ModelDescription& description,
                                               int64_t threads);

// Thread-compatible; not copyable. Every call runs on the calling thread's
// LibTorch intra-op pool (set to `threads` there first).
class AttentionTimer final : public FormTimer {
 public:
  // INVALID_ARGUMENT for bad options; UNAVAILABLE if the device cannot be used.
  static absl::StatusOr<std::unique_ptr<AttentionTimer>> Create(
      const AttentionTimerOptions& options);
  ~AttentionTimer() override;

  // INTERNAL (naming the form and shape) if the attention call fails.
  absl::StatusOr<double> SecondsPerSequence(kernels::Form form, int64_t length, int64_t batch,
                                            int64_t chunk_size) override;

 private:
  struct Inputs;
  explicit AttentionTimer(const AttentionTimerOptions& options);
  absl::StatusOr<const Inputs*> InputsFor(int64_t length, int64_t batch);

  AttentionTimerOptions options_;
  std::unique_ptr<Inputs> inputs_;  // the last shape's tensors, reused across forms
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_ATTENTION_TIMER_H_
