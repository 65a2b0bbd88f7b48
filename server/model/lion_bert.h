// LION BERT (docs/lion-math.md section 8.2): post-norm BERT with LION
// self-attention, raw q/k (no feature map), no row normalisation, padded keys
// zeroed; LIT adds absolute positions and a LayerNorm over the heads. MLM head
// with the decoder tied to the word embeddings; optional pooler and classifier.
#ifndef LION_SERVER_MODEL_LION_BERT_H_
#define LION_SERVER_MODEL_LION_BERT_H_

#include <memory>
#include <vector>

#include "server/model/lion_model.h"
#include "server/model/weights.h"

namespace lion::model {

class LionBert final : public LionModel {
 public:
  static absl::StatusOr<std::unique_ptr<LionBert>> Create(ModelConfig config, Weights& weights);

  absl::StatusOr<Encoded> Encode(const BatchInput& input,
                                 const ForwardOptions& options) const override;
  absl::StatusOr<at::Tensor> ClassLogits(const Encoded& encoded) const override;
  absl::StatusOr<at::Tensor> MlmLogits(const at::Tensor& hidden_rows) const override;

 private:
  struct Layer {
    Linear query, key, value, output;
    at::Tensor decay;   // D: [H] raw a, lambda = sigmoid(a)
    Linear decay_proj;  // S: z = W x + b
    LayerNorm attention_layer_norm;  // when layer_norm_after
    LayerNorm attention_norm, ffn_norm;
    Linear fc1, fc2;
  };
  explicit LionBert(ModelConfig config) : LionModel(std::move(config)) {}
  at::Tensor Attention(const Layer& layer, const at::Tensor& x, const at::Tensor& lengths,
                       const ForwardOptions& options) const;
  absl::Status CheckInput(const BatchInput& input) const;

  at::Tensor word_embeddings_, position_embeddings_, token_type_embeddings_;
  LayerNorm embeddings_norm_;
  std::vector<Layer> layers_;
  Linear mlm_transform_;
  LayerNorm mlm_norm_;
  at::Tensor mlm_bias_;
  Linear pooler_, classifier_;
};

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_LION_BERT_H_
