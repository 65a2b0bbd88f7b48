#include "server/model/lion_bert.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "lion/kernels/lion_attention.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"

namespace lion::model {

absl::StatusOr<std::unique_ptr<LionBert>> LionBert::Create(ModelConfig config, Weights& w) {
  const int64_t D = config.hidden_size, H = config.num_heads, F = config.intermediate_size;
  const double eps = config.layer_norm_eps;
  std::unique_ptr<LionBert> m(new LionBert(config));
  ASSIGN_OR_RETURN(m->word_embeddings_,
                   w.Get("embeddings.word_embeddings.weight", {config.vocab_size, D}));
  if (config.use_position_embeddings) {
    ASSIGN_OR_RETURN(m->position_embeddings_, w.Get("embeddings.position_embeddings.weight",
                                                    {config.max_position_embeddings, D}));
  }
  ASSIGN_OR_RETURN(m->token_type_embeddings_,
                   w.Get("embeddings.token_type_embeddings.weight", {config.type_vocab_size, D}));
  ASSIGN_OR_RETURN(m->embeddings_norm_, LayerNorm::Load(w, "embeddings.layer_norm", D, eps));
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = absl::StrCat("layers.", i, ".");
    Layer l;
    ASSIGN_OR_RETURN(l.query, Linear::Load(w, p + "attention.query", D, D));
    ASSIGN_OR_RETURN(l.key, Linear::Load(w, p + "attention.key", D, D));
    ASSIGN_OR_RETURN(l.value, Linear::Load(w, p + "attention.value", D, D));
    if (config.variant == "d") {
      ASSIGN_OR_RETURN(l.decay, w.GetFloat32(p + "attention.decay", {H}));
    }
    if (config.variant == "s") {
      ASSIGN_OR_RETURN(l.decay_proj,
                       Linear::Load(w, p + "attention.decay_proj", H, D, /*float32=*/true));
    }
    if (config.layer_norm_after) {
      ASSIGN_OR_RETURN(l.attention_layer_norm, LayerNorm::Load(w, p + "attention.layer_norm", D,
                                                               config.attention_layer_norm_eps));
    }
    ASSIGN_OR_RETURN(l.output, Linear::Load(w, p + "attention.output", D, D));
    ASSIGN_OR_RETURN(l.attention_norm, LayerNorm::Load(w, p + "attention_norm", D, eps));
    ASSIGN_OR_RETURN(l.fc1, Linear::Load(w, p + "ffn.fc1", F, D));
    ASSIGN_OR_RETURN(l.fc2, Linear::Load(w, p + "ffn.fc2", D, F));
    ASSIGN_OR_RETURN(l.ffn_norm, LayerNorm::Load(w, p + "ffn_norm", D, eps));
    m->layers_.push_back(std::move(l));
  }
  if (config.has_mlm_head) {
    ASSIGN_OR_RETURN(m->mlm_transform_, Linear::Load(w, "mlm.transform", D, D));
    ASSIGN_OR_RETURN(m->mlm_norm_, LayerNorm::Load(w, "mlm.layer_norm", D, eps));
    ASSIGN_OR_RETURN(m->mlm_bias_, w.Get("mlm.bias", {config.vocab_size}));
  }
  if (config.has_pooler) {
    ASSIGN_OR_RETURN(m->pooler_, Linear::Load(w, "pooler", D, D));
  }
  if (config.task == Task::kClassification) {
    const int64_t N = static_cast<int64_t>(config.labels.size());
    ASSIGN_OR_RETURN(m->classifier_, Linear::Load(w, "classifier", N, D));
  }
  return m;
}

absl::Status LionBert::CheckInput(const BatchInput& in) const {
  if (!in.input_ids.defined() || in.input_ids.dim() != 2 ||
      in.input_ids.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError("lion_bert needs input_ids int64 [B, L]");
  }
  const int64_t B = in.input_ids.size(0), L = in.input_ids.size(1);
  if (!in.lengths.defined() || in.lengths.numel() != B || B == 0 || L == 0) {
    return absl::InvalidArgumentError("lion_bert needs lengths [B] and a non-empty batch");
  }
  if (in.lengths.min().item<int64_t>() < 1 || in.lengths.max().item<int64_t>() > L) {
    return absl::InvalidArgumentError(absl::StrCat("every length must lie in [1, ", L, "]"));
  }
  const int64_t lo = in.input_ids.min().item<int64_t>(), hi = in.input_ids.max().item<int64_t>();
  if (lo < 0 || hi >= config().vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token ids must lie in [0, ", config().vocab_size, "); got ", lo < 0 ? lo : hi));
  }
  if (config().use_position_embeddings && L > config().max_position_embeddings) {
    return absl::InvalidArgumentError(absl::StrCat("input of ", L, " tokens exceeds the model's ",
                                                   config().max_position_embeddings,
                                                   "-position table"));
  }
  if (in.token_type_ids.defined() &&
      (in.token_type_ids.sizes() != in.input_ids.sizes() ||
       in.token_type_ids.min().item<int64_t>() < 0 ||
       in.token_type_ids.max().item<int64_t>() >= config().type_vocab_size)) {
    return absl::InvalidArgumentError(
        "token_type_ids must match input_ids and the type vocabulary");
  }
  return absl::OkStatus();
}

at::Tensor LionBert::Attention(const Layer& l, const at::Tensor& x, const at::Tensor& lengths,
                               const ForwardOptions& options) const {
  const int64_t B = x.size(0), L = x.size(1), H = config().num_heads, dh = config().head_dim();
  auto heads = [&](const at::Tensor& t) {
    return t.view({B, L, H, dh}).transpose(1, 2).contiguous();
  };
  const at::Tensor q = heads(l.query(x)), k = heads(l.key(x)), v = heads(l.value(x));
  at::Tensor g;
  if (config().variant == "lit") {
    g = at::zeros({B, H, L}, x.options().dtype(at::kFloat));
  } else if (config().variant == "d") {
    g = at::log_sigmoid(l.decay).view({1, H, 1}).expand({B, H, L}).contiguous();
  } else {
    const at::Tensor z = l.decay_proj(x).transpose(1, 2);  // [B, H, L]
    g = config().selective_log_eps > 0.0
            ? at::log(at::sigmoid(-z) + config().selective_log_eps)  // the MLM code's form
            : -at::softplus(z);
    g = g.contiguous();
  }
  absl::StatusOr<at::Tensor> y =
      kernels::LionAttention(q, k, v, g, lengths, MakeAttentionOptions(config(), options));
  if (!y.ok()) throw std::runtime_error(y.status().ToString());
  at::Tensor merged = y->transpose(1, 2).reshape({B, L, H * dh});
  if (config().layer_norm_after) merged = l.attention_layer_norm(merged);
  return l.output(merged);
}

absl::StatusOr<Encoded> LionBert::Encode(const BatchInput& input,
                                         const ForwardOptions& options) const {
  RETURN_IF_ERROR(CheckInput(input));
  return kernels::TorchCall("lion_bert forward failed", [&]() -> absl::StatusOr<Encoded> {
    const BatchInput in = OnDevice(input);
    const int64_t L = in.input_ids.size(1);
    const at::Tensor types =
        in.token_type_ids.defined() ? in.token_type_ids : at::zeros_like(in.input_ids);
    at::Tensor h = at::embedding(word_embeddings_, in.input_ids) +
                   at::embedding(token_type_embeddings_, types);
    if (position_embeddings_.defined()) h = h + position_embeddings_.narrow(0, 0, L).unsqueeze(0);
    h = embeddings_norm_(h);
    for (const Layer& l : layers_) {
      RETURN_IF_ERROR(CheckStop(options));
      const at::Tensor a = l.attention_norm(Attention(l, h, in.lengths, options) + h);
      h = TokenSlices(
          a, [&l](const at::Tensor& t) { return l.ffn_norm(l.fc2(at::gelu(l.fc1(t))) + t); });
    }
    const at::Tensor valid =
        at::arange(L, in.lengths.options()).unsqueeze(0).lt(in.lengths.unsqueeze(1));
    h = h * valid.unsqueeze(2).to(h.scalar_type());
    return Encoded{h, in.lengths};
  });
}

absl::StatusOr<at::Tensor> LionBert::ClassLogits(const Encoded& enc) const {
  if (!classifier_.weight.defined()) {
    return absl::FailedPreconditionError("model has no classification head (task mlm)");
  }
  return kernels::TorchCall("lion_bert classifier failed", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor features = pooler_.weight.defined()
                                    ? at::tanh(pooler_(enc.hidden.select(1, 0)))
                                    : Pool(enc, default_pooling());
    return classifier_(features);
  });
}

absl::StatusOr<at::Tensor> LionBert::MlmLogits(const at::Tensor& rows) const {
  if (!mlm_bias_.defined()) return LionModel::MlmLogits(rows);
  return kernels::TorchCall("lion_bert MLM head failed", [&]() -> absl::StatusOr<at::Tensor> {
    const at::Tensor t = mlm_norm_(at::gelu(mlm_transform_(rows)));
    return at::addmm(mlm_bias_, t, word_embeddings_.t());
  });
}

}  // namespace lion::model
