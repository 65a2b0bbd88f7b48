// LION ViT (docs/lion-math.md section 8.1): conv patch embedding, CLS token
// first, optional learned positions, pre-norm blocks with normalised LION
// attention (elu+1 for LIT, L2-normalised silu+0.5 for D/S; LION-S decay of CLS
// forced to 1), final LayerNorm, mean (CLS included) or CLS pooling, linear
// head. order "natural": two snake orders over the patch grid
// (docs/lion-math.md section 7). Without a position table any image whose sides
// are multiples of the patch size is served.
#ifndef LION_SERVER_MODEL_LION_VIT_H_
#define LION_SERVER_MODEL_LION_VIT_H_

#include <memory>
#include <utility>
#include <vector>

#include "server/model/lion_model.h"
#include "server/model/weights.h"

namespace lion::model {

// Row snake and column snake over a rows x cols patch grid (raster patch ids),
// CLS (token 0) first in both: order[p] = token at position p.
std::pair<std::vector<int64_t>, std::vector<int64_t>> SnakeOrders(int64_t rows, int64_t cols);

class LionVit final : public LionModel {
 public:
  static absl::StatusOr<std::unique_ptr<LionVit>> Create(ModelConfig config, Weights& weights);

  absl::StatusOr<Encoded> Encode(const BatchInput& input,
                                 const ForwardOptions& options) const override;
  absl::StatusOr<at::Tensor> ClassLogits(const Encoded& encoded) const override;

 private:
  struct Decay {
    at::Tensor a;  // D: [H]
    Linear proj;   // S
  };
  struct Block {
    LayerNorm norm1, norm2;
    Linear qkv, proj, fc1, fc2;
    Decay decay, decay2;  // decay2: second order (natural)
  };
  explicit LionVit(ModelConfig config) : LionModel(std::move(config)) {}
  absl::Status CheckInput(const BatchInput& input) const;
  at::Tensor LogDecay(const Decay& decay, const at::Tensor& xn) const;  // [B, H, N]
  at::Tensor Attention(const Block& b, const at::Tensor& xn, int64_t rows, int64_t cols,
                       const ForwardOptions& options) const;

  at::Tensor patch_weight_, patch_bias_, cls_token_, pos_embed_;
  std::vector<Block> blocks_;
  LayerNorm norm_;
  Linear head_;
};

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_LION_VIT_H_
