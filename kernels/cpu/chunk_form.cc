// State-passing chunk form (lion-spec 4.1) on the CPU. With chunks of C
// tokens, local exclusive prefix P_a of the log-decays, chunk total P_n and
// inclusive prefix Pi_a = P_{a+1}:
//   intra:   S = c (Q K^T) o Mloc,  Mloc = exp(P_a - P_b) below, exp(Pi_b - Pi_a) above
//   carries: UF = sum_b exp(P_n - P_b) k_b [v_b|1]^T,  UB = sum_b exp(Pi_b) k_b [v_b|1]^T
//            TF_{c+1} = exp(P_n) TF_c + UF_c (left to right), TB likewise right to left
//   reads:   c exp(P_a) q_a^T TF + c exp(P_n - Pi_a) q_a^T TB
// Every exponent is a partial sum of non-positive g local to one chunk, so
// nothing overflows at any L. All chunks' GEMMs run batched; only the carry
// scan is sequential (a d x d axpy per chunk).
#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>

#include "cpu/forms.h"

namespace lion::kernels::internal {
namespace {

// T[r, c] = carry into chunk c. forward: from chunk c-1; backward: from c+1.
// U [R, N, dk, W] local contributions, decay [R, N] = exp(P_n) per chunk.
void ScanCarries(const at::Tensor& U, const at::Tensor& decay, bool forward, at::Tensor& T) {
  const int64_t R = U.size(0), N = U.size(1), block = U.size(2) * U.size(3);
  const float* u = U.data_ptr<float>();
  const float* dec = decay.data_ptr<float>();
  float* t = T.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t step = 0; step < N; ++step) {
        const int64_t c = forward ? step : N - 1 - step;
        float* out = t + (r * N + c) * block;
        if (step == 0) {
          std::fill(out, out + block, 0.0f);
          continue;
        }
        const int64_t prev = forward ? c - 1 : c + 1;  // the chunk the carry comes through
        const float a = dec[r * N + prev];
        const float* tin = t + (r * N + prev) * block;
        const float* uin = u + (r * N + prev) * block;
        for (int64_t e = 0; e < block; ++e) out[e] = a * tin[e] + uin[e];
      }
    }
  });
}

}  // namespace

NumDen ChunkFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& g, const AttentionOptions& options) {
  const int64_t R = q.size(0), L = q.size(1), dk = q.size(2), dv = v.size(2);
  const int64_t C = std::max<int64_t>(1, std::min(options.chunk_size, L));
  const int64_t N = (L + C - 1) / C, Lp = N * C;
  const float c = options.scale;
  auto pad = [&](const at::Tensor& x) {
    if (Lp == L) return x;
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape[1] = Lp - L;
    return at::cat({x, at::zeros(shape, x.options())}, 1);
  };
  at::Tensor vext = options.normalize ? at::cat({v, at::ones({R, L, 1}, v.options())}, 2) : v;
  const int64_t W = vext.size(2);
  const at::Tensor qc = pad(q).view({R * N, C, dk});
  const at::Tensor kc = pad(k).view({R * N, C, dk});
  const at::Tensor vc = pad(vext).view({R * N, C, W});
  const at::Tensor gc = pad(g).view({R, N, C});

  const bool lit = AllZero(g);
  // Prefix sums and their differences in double: with C in the hundreds a
  // float prefix loses the small differences that the mask needs (spec 6).
  // Every exponent is cast to float only once it is formed (and <= 0).
  const at::Tensor gd = gc.to(at::kDouble);
  const at::Tensor Pi = at::cumsum(gd, 2);    // inclusive local prefix
  const at::Tensor P = Pi - gd;               // exclusive local prefix
  const at::Tensor Pn = Pi.select(2, C - 1);  // chunk totals [R, N]
  auto exp_f = [](const at::Tensor& x) { return x.to(at::kFloat).exp_(); };

  // Intra-chunk block.
  at::Tensor scores = at::bmm(qc, kc.transpose(1, 2)).view({R, N, C, C});
  if (lit) {
    scores.mul_(c);
  } else {
    at::Tensor lower = P.unsqueeze(3) - P.unsqueeze(2);    // P_a - P_b
    at::Tensor upper = Pi.unsqueeze(2) - Pi.unsqueeze(3);  // Pi_b - Pi_a
    at::Tensor logm = at::tril(lower, -1) + at::triu(upper, 1);
    scores.mul_(exp_f(logm).mul_(c));
  }
  at::Tensor out = at::bmm(scores.view({R * N, C, C}), vc);  // [R*N, C, W]

  if (N > 1) {
    // Local carry contributions of both directions from one GEMM.
    at::Tensor wF = exp_f(Pn.unsqueeze(2) - P).view({R * N, C, 1});
    at::Tensor wB = exp_f(Pi).view({R * N, C, 1});
    at::Tensor k2 = at::cat({kc * wF, kc * wB}, 2);                    // [R*N, C, 2dk]
    at::Tensor U = at::bmm(k2.transpose(1, 2), vc).view({R, N, 2, dk, W});
    at::Tensor decay = exp_f(Pn).contiguous();
    at::Tensor UF = U.select(2, 0).contiguous(), UB = U.select(2, 1).contiguous();
    at::Tensor TF = at::empty_like(UF), TB = at::empty_like(UB);
    ScanCarries(UF, decay, /*forward=*/true, TF);
    ScanCarries(UB, decay, /*forward=*/false, TB);
    // Reads of both directions from one GEMM: [c e^{P_a} q | c e^{P_n - Pi_a} q] [TF ; TB].
    at::Tensor rF = exp_f(P).mul_(c).view({R * N, C, 1});
    at::Tensor rB = exp_f(Pn.unsqueeze(2) - Pi).mul_(c).view({R * N, C, 1});
    at::Tensor q2 = at::cat({qc * rF, qc * rB}, 2);                        // [R*N, C, 2dk]
    at::Tensor t2 = at::cat({TF, TB}, 2).view({R * N, 2 * dk, W});        // [R*N, 2dk, W]
    out.baddbmm_(q2, t2);
  }
  at::Tensor full = out.view({R, Lp, W}).narrow(1, 0, L);
  NumDen result;
  result.num = options.normalize ? full.narrow(2, 0, dv) : full;
  if (options.normalize) result.den = full.select(2, dv);
  return result;
}

}  // namespace lion::kernels::internal
