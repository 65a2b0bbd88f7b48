#include "server/model/lion_vit.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "lion/kernels/lion_attention.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"

namespace lion::model {

std::pair<std::vector<int64_t>, std::vector<int64_t>> SnakeOrders(int64_t rows, int64_t cols) {
  std::vector<int64_t> row_snake = {0}, col_snake = {0};
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i)
      row_snake.push_back(1 + r * cols + (r % 2 ? cols - 1 - i : i));
  }
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t i = 0; i < rows; ++i)
      col_snake.push_back(1 + (c % 2 ? rows - 1 - i : i) * cols + c);
  }
  return {row_snake, col_snake};
}

absl::StatusOr<std::unique_ptr<LionVit>> LionVit::Create(ModelConfig config, Weights& w) {
  const int64_t D = config.hidden_size, H = config.num_heads, F = config.intermediate_size;
  const int64_t p = config.patch_size, C = config.num_channels;
  const double eps = config.layer_norm_eps;
  std::unique_ptr<LionVit> m(new LionVit(config));
  ASSIGN_OR_RETURN(m->patch_weight_, w.Get("patch_embed.weight", {D, C, p, p}));
  ASSIGN_OR_RETURN(m->patch_bias_, w.Get("patch_embed.bias", {D}));
  ASSIGN_OR_RETURN(m->cls_token_, w.Get("cls_token", {D}));
  if (config.use_position_embeddings) {
    const int64_t side = config.image_size / p;
    ASSIGN_OR_RETURN(m->pos_embed_, w.Get("pos_embed", {1 + side * side, D}));
  }
  const bool natural = config.order == "natural";
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string pre = absl::StrCat("blocks.", i, ".");
    Block b;
    ASSIGN_OR_RETURN(b.norm1, LayerNorm::Load(w, pre + "norm1", D, eps));
    ASSIGN_OR_RETURN(b.qkv, Linear::Load(w, pre + "attn.qkv", 3 * D, D));
    for (int order = 0; order < (natural ? 2 : 1); ++order) {
      Decay& d = order == 0 ? b.decay : b.decay2;
      const std::string name = pre + (order == 0 ? "attn.decay" : "attn.decay2");
      if (config.variant == "d") {
        ASSIGN_OR_RETURN(d.a, w.GetFloat32(name, {H}));
      }
      if (config.variant == "s") {
        ASSIGN_OR_RETURN(d.proj, Linear::Load(w, name + "_proj", H, D, /*float32=*/true));
      }
    }
    ASSIGN_OR_RETURN(b.proj, Linear::Load(w, pre + "attn.proj", D, D));
    ASSIGN_OR_RETURN(b.norm2, LayerNorm::Load(w, pre + "norm2", D, eps));
    ASSIGN_OR_RETURN(b.fc1, Linear::Load(w, pre + "mlp.fc1", F, D));
    ASSIGN_OR_RETURN(b.fc2, Linear::Load(w, pre + "mlp.fc2", D, F));
    m->blocks_.push_back(std::move(b));
  }
  ASSIGN_OR_RETURN(m->norm_, LayerNorm::Load(w, "norm", D, eps));
  ASSIGN_OR_RETURN(m->head_,
                   Linear::Load(w, "head", static_cast<int64_t>(config.labels.size()), D));
  return m;
}

absl::Status LionVit::CheckInput(const BatchInput& in) const {
  const ModelConfig& c = config();
  if (!in.pixels.defined() || in.pixels.dim() != 4 || in.pixels.scalar_type() != at::kFloat ||
      in.pixels.size(0) == 0) {
    return absl::InvalidArgumentError("lion_vit needs pixels float32 [B, C, H, W]");
  }
  const int64_t C = in.pixels.size(1), Hh = in.pixels.size(2), Ww = in.pixels.size(3);
  if (C != c.num_channels || Hh < c.patch_size || Ww < c.patch_size || Hh % c.patch_size ||
      Ww % c.patch_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", C, "x", Hh, "x", Ww, " does not fit the model: ", c.num_channels,
                     " channels and sides that are multiples of ", c.patch_size));
  }
  if (pos_embed_.defined() && (Hh != c.image_size || Ww != c.image_size)) {
    return absl::InvalidArgumentError(absl::StrCat("the model's position table needs ",
                                                   c.image_size, "x", c.image_size, " images"));
  }
  return absl::OkStatus();
}

at::Tensor LionVit::LogDecay(const Decay& d, const at::Tensor& xn) const {
  const int64_t B = xn.size(0), N = xn.size(1), H = config().num_heads;
  if (config().variant == "lit") return at::zeros({B, H, N}, xn.options().dtype(at::kFloat));
  if (config().variant == "d") return at::log_sigmoid(d.a).view({1, H, 1}).expand({B, H, N});
  return -at::softplus(d.proj(xn).transpose(1, 2));  // lambda = 1 - sigmoid(z)
}

at::Tensor LionVit::Attention(const Block& b, const at::Tensor& xn, int64_t rows, int64_t cols,
                              const ForwardOptions& options) const {
  const int64_t B = xn.size(0), N = xn.size(1), H = config().num_heads, dh = config().head_dim();
  const at::Tensor qkv = b.qkv(xn).view({B, N, 3, H, dh}).permute({2, 0, 3, 1, 4});
  auto phi = [&](const at::Tensor& t) {
    if (config().variant == "lit") return (at::elu(t) + 1.0).contiguous();
    const at::Tensor s = at::silu(t) + 0.5;
    return (s / at::linalg_vector_norm(s, 2, {-1}, true)).contiguous();
  };
  const at::Tensor q = phi(qkv[0]), k = phi(qkv[1]), v = qkv[2].contiguous();
  const kernels::AttentionOptions o = MakeAttentionOptions(config(), options);
  const bool selective = config().variant == "s";
  // LION-S: the CLS token's decay is 1 (g = 0) at position 0 of every order.
  auto cls_decay_one = [&](at::Tensor g) {
    g = g.contiguous();
    if (selective) g.select(2, 0).zero_();
    return g;
  };
  absl::StatusOr<at::Tensor> y;
  if (config().order != "natural") {
    y = kernels::LionAttention(q, k, v, cls_decay_one(LogDecay(b.decay, xn)), at::Tensor(), o);
  } else {
    const auto [o1, o2] = SnakeOrders(rows, cols);
    std::vector<at::Tensor> orders = {at::tensor(o1, at::kLong), at::tensor(o2, at::kLong)};
    std::vector<at::Tensor> gs;
    for (int m = 0; m < 2; ++m) {  // decays in token order, permuted into curve order
      const at::Tensor g = LogDecay(m == 0 ? b.decay : b.decay2, xn);
      gs.push_back(cls_decay_one(g.index_select(2, orders[m].to(g.device()))));
    }
    y = kernels::LionAttentionMultiOrder(q, k, v, orders, gs, o);
  }
  if (!y.ok()) throw std::runtime_error(y.status().ToString());
  return b.proj(y->transpose(1, 2).reshape({B, N, H * dh}));
}

absl::StatusOr<Encoded> LionVit::Encode(const BatchInput& input,
                                        const ForwardOptions& options) const {
  RETURN_IF_ERROR(CheckInput(input));
  return kernels::TorchCall("lion_vit forward failed", [&]() -> absl::StatusOr<Encoded> {
    const BatchInput in = OnDevice(input);
    const int64_t p = config().patch_size, B = in.pixels.size(0);
    const int64_t rows = in.pixels.size(2) / p, cols = in.pixels.size(3) / p;
    at::Tensor x = at::conv2d(in.pixels, patch_weight_, patch_bias_, {p, p})
                       .flatten(2)
                       .transpose(1, 2);  // raster order
    x = at::cat({cls_token_.view({1, 1, -1}).expand({B, 1, x.size(2)}), x}, 1);
    if (pos_embed_.defined()) x = x + pos_embed_.unsqueeze(0);
    for (const Block& b : blocks_) {
      RETURN_IF_ERROR(CheckStop(options));
      x = x + Attention(b, b.norm1(x), rows, cols, options);
      x = TokenSlices(x,
                      [&b](const at::Tensor& t) { return t + b.fc2(at::gelu(b.fc1(b.norm2(t)))); });
    }
    const at::Tensor lengths = at::full({B}, x.size(1), x.options().dtype(at::kLong));
    return Encoded{norm_(x), lengths};
  });
}

absl::StatusOr<at::Tensor> LionVit::ClassLogits(const Encoded& enc) const {
  return kernels::TorchCall("lion_vit head failed", [&]() -> absl::StatusOr<at::Tensor> {
    return head_(Pool(enc, default_pooling()));
  });
}

}  // namespace lion::model
