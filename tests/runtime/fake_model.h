// A fake runtime::Model for tests: outputs are a fixed function of each
// input alone (so batching and forms cannot change them), calls are recorded,
// and failures can be injected. Thread-safe.
#ifndef LION_TESTS_RUNTIME_FAKE_MODEL_H_
#define LION_TESTS_RUNTIME_FAKE_MODEL_H_

#include <functional>
#include <mutex>
#include <vector>

#include "server/runtime/model.h"

namespace lion::runtime {

struct FakeCall {
  int64_t batch_size;
  kernels::Form form;
  int64_t chunk_size;
};

class FakeModel : public Model {
 public:
  // A text MLM ("mlm") or text classifier ("classification") or vision classifier ("vision").
  static ModelDescription Describe(const std::string& name, const std::string& kind);

  explicit FakeModel(ModelDescription description) : description_(std::move(description)) {}
  const ModelDescription& description() const override { return description_; }
  absl::StatusOr<std::vector<SequenceOutput>> Forward(
      const std::vector<const SequenceInput*>& inputs,
      const std::vector<const OutputRequest*>& outputs, const BatchOptions& options) override;

  // The output Forward gives for one input (the reference for tests).
  SequenceOutput Expected(const SequenceInput& input, const OutputRequest& outputs) const;

  std::vector<FakeCall> calls() const;
  void FailNext(absl::Status status);
  // A batch holding a token id at or above vocab_size fails as a whole with
  // INVALID_ARGUMENT (as an embedding lookup past the table would); an input
  // holding kNanToken gets NaN outputs.
  static constexpr int32_t kNanToken = 17;
  void SetNanToken(bool enabled);
  // Runs inside every Forward, before the outputs are made (e.g. to move a
  // FakeClock or to poll options.should_stop); a true result makes Forward
  // return CANCELLED, as a model that stopped between layers does.
  void SetDuringForward(std::function<bool(const BatchOptions&)> hook);
  // Adds `bias` to every output computed in `form` (to test warm-up checks).
  void SkewForm(kernels::Form form, float bias);

 private:
  ModelDescription description_;
  mutable std::mutex mu_;
  std::vector<FakeCall> calls_;
  absl::Status fail_next_;
  kernels::Form skew_form_ = kernels::Form::kFull;
  float skew_ = 0;
  bool nan_token_ = false;
  std::function<bool(const BatchOptions&)> during_forward_;
};

}  // namespace lion::runtime

#endif  // LION_TESTS_RUNTIME_FAKE_MODEL_H_
