// Bidirectional RNN form (lion-spec 3) on the CPU. One task per (row,
// direction); the backward scan is the forward scan over reversed indices
// (the mask is reversal-symmetric, spec 2.1). Per token i of a direction:
//   S = a_i S + k_i v_i^T,  z = a_i z + k_i       (a_i: decay of the token just left)
//   y_i = q_i^T S - (q_i.k_i) v_i / 2,  d_i = q_i.z - (q_i.k_i) / 2
// The state S (dk x dv) stays in L1; the update and the readout run in one
// pass over S, vectorized along dv. Partial outputs of the two directions go
// to separate buffers and are added at the end.
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>

#include "cpu/fast_exp.h"
#include "cpu/forms.h"

namespace lion::kernels::internal {
namespace {

struct ScanArgs {
  const float* q;
  const float* k;
  const float* v;
  const float* g;
  int64_t n;  // tokens to scan (true length)
  int64_t dk, dv;
  float* y;    // [n, dv]
  float* den;  // [n] or null
};

void Scan(const ScanArgs& a, bool forward, std::vector<float>& S, std::vector<float>& z) {
  const int64_t dk = a.dk, dv = a.dv;
  std::fill(S.begin(), S.end(), 0.0f);
  std::fill(z.begin(), z.end(), 0.0f);
  for (int64_t step = 0; step < a.n; ++step) {
    const int64_t i = forward ? step : a.n - 1 - step;
    const int64_t prev = forward ? i - 1 : i + 1;
    const float decay = step == 0 ? 0.0f : std::exp(a.g[prev]);
    const float* qi = a.q + i * dk;
    const float* ki = a.k + i * dk;
    const float* vi = a.v + i * dv;
    float* yi = a.y + i * dv;
    for (int64_t e = 0; e < dv; ++e) yi[e] = 0.0f;
    float qk = 0.0f, qz = 0.0f;
    for (int64_t r = 0; r < dk; ++r) {
      float* s = S.data() + r * dv;
      const float kr = ki[r], qr = qi[r];
LION_VECTORIZE_LOOP
      for (int64_t e = 0; e < dv; ++e) {
        const float updated = decay * s[e] + kr * vi[e];
        s[e] = updated;
        yi[e] += qr * updated;
      }
      z[r] = decay * z[r] + kr;
      qz += qr * z[r];
      qk += qr * kr;
    }
    const float half = 0.5f * qk;
    for (int64_t e = 0; e < dv; ++e) yi[e] -= half * vi[e];
    if (a.den != nullptr) a.den[i] = qz - half;
  }
}

}  // namespace

NumDen RnnFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& g, const std::vector<int64_t>& row_lengths,
                  const AttentionOptions& options) {
  const int64_t R = q.size(0), L = q.size(1), dk = q.size(2), dv = v.size(2);
  // [direction, R, L, dv]: zero-initialised so rows past a length stay 0.
  at::Tensor y = at::zeros({2, R, L, dv}, v.options());
  at::Tensor den = options.normalize ? at::zeros({2, R, L}, v.options()) : at::Tensor();
  at::parallel_for(0, 2 * R, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> S(dk * dv), z(dk);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t dir = task % 2, r = task / 2;
      ScanArgs a{q.data_ptr<float>() + r * L * dk,
                 k.data_ptr<float>() + r * L * dk,
                 v.data_ptr<float>() + r * L * dv,
                 g.data_ptr<float>() + r * L,
                 row_lengths[r],
                 dk,
                 dv,
                 y.data_ptr<float>() + (dir * R + r) * L * dv,
                 options.normalize ? den.data_ptr<float>() + (dir * R + r) * L : nullptr};
      Scan(a, /*forward=*/dir == 0, S, z);
    }
  });
  NumDen result;
  result.num = (y[0] + y[1]).mul_(options.scale);
  if (options.normalize) result.den = (den[0] + den[1]).mul_(options.scale);
  return result;
}

}  // namespace lion::kernels::internal
