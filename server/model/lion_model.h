// A loaded LION model (docs/lion-math.md section 8) on LibTorch: LionBert or
// LionVit behind one interface, built from a model directory
// (docs/model-format.md). Weights are read once from model.safetensors into
// memory the process owns (one fp32 copy each; the model does not depend on the
// file after Load returns). On a GPU they are then copied there once, in the
// model's dtype (float32, bfloat16 or float16; the decay parameters stay
// float32), and the dense layers run there through LibTorch (cuBLAS, float32
// accumulation: docs/gpu.md).
#ifndef LION_SERVER_MODEL_LION_MODEL_H_
#define LION_SERVER_MODEL_LION_MODEL_H_

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"
#include "server/model/model_config.h"

namespace lion::model {

struct ForwardOptions {
  kernels::Form form = kernels::Form::kFull;
  int64_t chunk_size = 64;
  // Polled between layers: when it returns true the forward stops and Encode
  // returns CANCELLED (nobody is waiting for the batch any more). May be empty.
  std::function<bool()> should_stop;
};

// CANCELLED when options.should_stop says so; called between layers.
absl::Status CheckStop(const ForwardOptions& options);

// One batch. Text: input_ids int64 [B, L] right-padded, lengths int64 [B]
// (every length >= 1), token_type_ids optional. Image: pixels float32
// [B, C, H, W] normalised (every image of a batch has one size).
struct BatchInput {
  at::Tensor input_ids, lengths, token_type_ids;
  at::Tensor pixels;
};

// Where a model lives and in which dtype.
struct LoadOptions {
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;  // kFloat, kBFloat16 or kHalf (16-bit: CUDA only)
};

// hidden [B, L, D]: final hidden states (BERT: last layer; ViT: after the final
// LayerNorm), rows past a sequence's length are 0. lengths [B] int64. Both on
// the model's device, hidden in its dtype.
struct Encoded {
  at::Tensor hidden;
  at::Tensor lengths;
};

enum class PoolingKind { kMean, kCls };

// Immutable after Load; Encode may run on any one thread at a time per call
// (it is const and keeps no state), LibTorch intra-op threads inside.
class LionModel {
 public:
  virtual ~LionModel() = default;

  // Loads config.json and model.safetensors from `dir`. Errors name the file
  // and tensor: NOT_FOUND for missing files, INVALID_ARGUMENT for a bad config,
  // missing/mis-shaped/unexpected tensors, NaN/infinite weights, a 16-bit
  // dtype on the CPU, or heads wider than the CUDA kernels take; ABORTED when
  // model.safetensors changed while it was being read; INTERNAL when copying
  // to the device fails.
  static absl::StatusOr<std::unique_ptr<LionModel>> Load(const std::string& dir,
                                                         const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  const LoadOptions& placement() const { return placement_; }

  // INVALID_ARGUMENT for inputs the model cannot take (ids out of range,
  // too long for a position table, wrong image size); INTERNAL when LibTorch
  // throws (with the model's architecture in the message). Inputs may be on
  // the CPU (pinned memory for a GPU model: they are checked there and copied
  // without blocking) or on the model's device.
  virtual absl::StatusOr<Encoded> Encode(const BatchInput& input,
                                         const ForwardOptions& options) const = 0;

  // Pooled embeddings [B, D] over each sequence's real tokens.
  at::Tensor Pool(const Encoded& encoded, PoolingKind kind) const;
  // Classification logits [B, num_labels]; FAILED_PRECONDITION without a head.
  virtual absl::StatusOr<at::Tensor> ClassLogits(const Encoded& encoded) const = 0;
  // MLM vocabulary logits [N, V] for hidden rows [N, D]; FAILED_PRECONDITION
  // without an MLM head.
  virtual absl::StatusOr<at::Tensor> MlmLogits(const at::Tensor& hidden_rows) const;

  PoolingKind default_pooling() const {
    return config_.pooling == "cls" ? PoolingKind::kCls : PoolingKind::kMean;
  }

 protected:
  explicit LionModel(ModelConfig config) : config_(std::move(config)) {}
  // The batch on the model's device: copies from (pinned) host memory are
  // queued without blocking.
  BatchInput OnDevice(const BatchInput& input) const;

 private:
  const ModelConfig config_;
  LoadOptions placement_;
};

// Attention options of one model family for one forward.
kernels::AttentionOptions MakeAttentionOptions(const ModelConfig& config,
                                               const ForwardOptions& options);

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_LION_MODEL_H_
