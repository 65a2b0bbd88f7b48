#include "tests/kernels/attention_test_util.h"

#include <cmath>
#include <random>

#include "lion/kernels/lion_attention_reference.h"

namespace lion::kernels::testing {

const char* VariantName(Variant v) {
  switch (v) {
    case Variant::kLit:
      return "lit";
    case Variant::kD:
      return "d";
    case Variant::kS:
      return "s";
  }
  return "?";
}

namespace {
at::Tensor Normal(std::mt19937_64& rng, at::IntArrayRef shape) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  at::Tensor t = at::empty(shape, at::kFloat);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}
// Vision feature maps (docs/lion-math.md section 2.3): elu+1 for LIT,
// L2-normalised silu+0.5 for D/S.
at::Tensor FeatureMap(const at::Tensor& x, Variant variant) {
  if (variant == Variant::kLit) return at::elu(x) + 1.0;
  at::Tensor s = at::silu(x) + 0.5;
  return s / s.norm(2, -1, true);
}
}  // namespace

Inputs MakeInputs(Variant variant, int64_t B, int64_t H, int64_t L, int64_t d, bool positive,
                  uint64_t seed, double decay_scale, double fixed_lambda) {
  std::mt19937_64 rng(seed);
  Inputs in;
  in.q = Normal(rng, {B, H, L, d});
  in.k = Normal(rng, {B, H, L, d});
  in.v = Normal(rng, {B, H, L, d});
  if (positive) {
    in.q = FeatureMap(in.q, variant);
    in.k = FeatureMap(in.k, variant);
  }
  switch (variant) {
    case Variant::kLit:
      in.g = at::zeros({B, H, L});
      break;
    case Variant::kD: {
      // one lambda per head, shared by every token
      at::Tensor a = Normal(rng, {1, H, 1}) * 2.0;
      at::Tensor lam = fixed_lambda > 0 ? at::full({1, H, 1}, fixed_lambda) : at::sigmoid(a);
      in.g = at::log(lam).expand({B, H, L}).contiguous();
      break;
    }
    case Variant::kS: {
      at::Tensor z = Normal(rng, {B, H, L}) * decay_scale - 1.0;
      in.g = -at::softplus(z);
      break;
    }
  }
  in.q = in.q.contiguous();
  in.k = in.k.contiguous();
  return in;
}

at::Tensor ReferenceOutput(const Inputs& in, const at::Tensor& lengths,
                           const AttentionOptions& options) {
  AttentionShape shape{in.q.size(0), in.q.size(1), in.q.size(2), in.q.size(3), in.v.size(3)};
  at::Tensor out = at::empty(in.v.sizes(), at::kFloat);
  at::Tensor l = lengths.defined() ? lengths.contiguous() : at::Tensor();
  absl::Status s = LionAttentionReference(
      shape, in.q.data_ptr<float>(), in.k.data_ptr<float>(), in.v.data_ptr<float>(),
      in.g.data_ptr<float>(), l.defined() ? l.data_ptr<int64_t>() : nullptr, options,
      out.data_ptr<float>());
  if (!s.ok()) throw std::runtime_error(s.ToString());
  return out;
}

double RelErr(const at::Tensor& a, const at::Tensor& b) {
  const double scale = std::max(a.abs().max().item<double>(), b.abs().max().item<double>());
  if (scale == 0.0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() / scale;
}

}  // namespace lion::kernels::testing
