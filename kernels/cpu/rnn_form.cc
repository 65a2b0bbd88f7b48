// Bidirectional RNN form (docs/lion-math.md section 3) on the CPU. One task per
// (row, direction); the backward scan is the forward scan over reversed indices
// (the mask is reversal-symmetric, docs/lion-math.md section 2.1). Per token i
// of a direction:
//   S = a_i S + k_i v_i^T,  z = a_i z + k_i       (a_i: decay of the token just left)
//   y_i = q_i^T S - (q_i.k_i) v_i / 2,  d_i = q_i.z - (q_i.k_i) / 2
// The state S (dk x dv) stays in L1; the update and the readout run in one
// pass over S, vectorized along dv. The scale c is folded into q (every
// output term is linear in q).
//
// With at least as many rows as threads, one task per row runs the forward
// scan into the output and the backward scan adds onto it: the output is the
// only O(L) buffer, which makes this the form with the least memory. With
// fewer rows, the directions run as separate tasks into two buffers that are
// added at the end (twice the memory, both cores busy).
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
  float scale;  // c
  float* y;    // [n, dv]
  float* den;  // [n] or null
};

// accumulate: add onto y and den (the second direction) instead of writing
// them. finish (with accumulate): y_i is then complete, so it becomes
// y_i / (den_i + eps) at once, while it is in cache.
// The readout goes to `acc` (one row, in L1) and only then to y: the inner
// loop is the same in both modes (adding straight onto y's old row ran the
// second direction at half speed).
void Scan(const ScanArgs& a, bool forward, bool accumulate, bool finish, float eps,
          std::vector<float>& S, std::vector<float>& z, std::vector<float>& acc) {
  const int64_t dk = a.dk, dv = a.dv;
  float* yacc = acc.data();
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
    std::fill(acc.begin(), acc.end(), 0.0f);
    float qk = 0.0f, qz = 0.0f;
    for (int64_t r = 0; r < dk; ++r) {
      float* s = S.data() + r * dv;
      const float kr = ki[r], qr = a.scale * qi[r];
LION_VECTORIZE_LOOP
      for (int64_t e = 0; e < dv; ++e) {
        const float updated = decay * s[e] + kr * vi[e];
        s[e] = updated;
        yacc[e] += qr * updated;
      }
      z[r] = decay * z[r] + kr;
      qz += qr * z[r];
      qk += qr * kr;
    }
    const float half = 0.5f * qk;
    if (accumulate) {
      for (int64_t e = 0; e < dv; ++e) yi[e] += yacc[e] - half * vi[e];
    } else {
      for (int64_t e = 0; e < dv; ++e) yi[e] = yacc[e] - half * vi[e];
    }
    if (a.den != nullptr) {
      a.den[i] = (accumulate ? a.den[i] : 0.0f) + qz - half;
      if (finish) {
        const float inv = 1.0f / (a.den[i] + eps);
        for (int64_t e = 0; e < dv; ++e) yi[e] *= inv;
      }
    }
  }
}

}  // namespace

NumDen RnnFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& g, const std::vector<int64_t>& row_lengths,
                  const AttentionOptions& options, bool finish) {
  const int64_t R = q.size(0), L = q.size(1), dk = q.size(2), dv = v.size(2);
  const bool in_place = R >= at::get_num_threads();
  finish = finish && in_place && options.normalize;
  const int64_t buffers = in_place ? 1 : 2;
  // [buffer, R, L, dv]: zero-initialised so rows past a length stay 0.
  at::Tensor y = at::zeros({buffers, R, L, dv}, v.options());
  at::Tensor den = options.normalize ? at::zeros({buffers, R, L}, v.options()) : at::Tensor();
  auto args = [&](int64_t r, int64_t buffer) {
    return ScanArgs{q.data_ptr<float>() + r * L * dk,
                    k.data_ptr<float>() + r * L * dk,
                    v.data_ptr<float>() + r * L * dv,
                    g.data_ptr<float>() + r * L,
                    row_lengths[r],
                    dk,
                    dv,
                    options.scale,
                    y.data_ptr<float>() + (buffer * R + r) * L * dv,
                    options.normalize ? den.data_ptr<float>() + (buffer * R + r) * L : nullptr};
  };
  if (in_place) {
    at::parallel_for(0, R, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> S(dk * dv), z(dk), acc(dv);
      for (int64_t r = begin; r < end; ++r) {
        const ScanArgs a = args(r, 0);
        Scan(a, /*forward=*/true, /*accumulate=*/false, /*finish=*/false, options.eps, S, z, acc);
        Scan(a, /*forward=*/false, /*accumulate=*/true, finish, options.eps, S, z, acc);
      }
    });
    return NumDen{y[0], options.normalize && !finish ? den[0] : at::Tensor()};
  }
  at::parallel_for(0, 2 * R, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> S(dk * dv), z(dk), acc(dv);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t dir = task % 2, r = task / 2;
      Scan(args(r, dir), /*forward=*/dir == 0, /*accumulate=*/false, /*finish=*/false, options.eps,
           S, z, acc);
    }
  });
  NumDen result;
  result.num = y[0].add_(y[1]);
  if (options.normalize) result.den = den[0].add_(den[1]);
  return result;
}

}  // namespace lion::kernels::internal
