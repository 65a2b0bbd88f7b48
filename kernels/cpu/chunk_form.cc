// State-passing chunk form (lion-spec 4.1) on the CPU. With chunks of C
// tokens, local exclusive prefix P_a of the log-decays, chunk total P_n and
// inclusive prefix Pi_a = P_{a+1}:
//   intra:   S = c (Q K^T) o Mloc,  Mloc = exp(P_a - P_b) below, exp(Pi_b - Pi_a) above
//   carries: UF = sum_b exp(P_n - P_b) k_b [v_b|1]^T,  UB = sum_b exp(Pi_b) k_b [v_b|1]^T
//            TF_{c+1} = exp(P_n) TF_c + UF_c (left to right), TB likewise right to left
//   reads:   [c e^{P_a} q_a | c e^{P_n - Pi_a} q_a] [TF ; TB]
// Every exponent is a partial sum of non-positive g local to one chunk (taken
// in double, cast to float once formed), so nothing overflows at any L.
//
// One task per row (b, h), in groups of chunks that stay in cache: batched GEMMs (scores,
// intra output, carry contributions, reads), the mask and decay weights in
// fused vectorized loops, and a short sequential scan over chunk carries.
// Working memory per task: the group buffers plus the row's carries, O(L d^2 / C).
#include <algorithm>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>

#include "cpu/fast_exp.h"
#include "cpu/forms.h"
#include "cpu/mask.h"

namespace lion::kernels::internal {
namespace {

// A row is processed in groups of kGroupChunks chunks so that the group's
// buffers stay in cache; only the carries (and prefix sums) span the row.
constexpr int64_t kGroupChunks = 16;

struct RowBuffers {
  at::Tensor q, k, v;   // [G, C, dk], [G, C, dk], [G, C, W]: one group, zero-padded
  at::Tensor scores;    // [G, C, C]
  at::Tensor weighted;  // [G, C, 2 dk]: decay-weighted keys, then queries
  at::Tensor out;       // [G, C, W]
  at::Tensor carry;     // [N, 2 dk, W]: local contributions, then carries in
  std::vector<double> P;  // [N, C + 1] local exclusive prefix sums (P_0 = 0 .. P_n)
  MaskScratch mask{0, 0};
};

// Multiplies each chunk's scores by c * Mloc (or c alone for LIT): the chunk
// is a C x C score matrix whose prefix sums are the chunk-local P, masked in
// row blocks of kMaskBlock so that off-diagonal sub-blocks use rank-one factors.
constexpr int64_t kMaskBlock = 16;

// Chunks [n0, n0 + ng) of the row, held at group positions 0 .. ng-1.
void MaskScores(RowBuffers& rb, int64_t n0, int64_t ng, int64_t C, float c, bool lit) {
  float* s = rb.scores.data_ptr<float>();
  for (int64_t n = 0; n < ng; ++n) {
    for (int64_t i0 = 0; i0 < C; i0 += kMaskBlock) {
      ApplyMaskRows(s + (n * C + i0) * C, i0, std::min(C, i0 + kMaskBlock), C,
                    rb.P.data() + (n0 + n) * (C + 1), c, lit, rb.mask);
    }
  }
}

// weighted[n, a] = [w1(a) x_a | w2(a) x_a] for the two directions' weights.
template <typename W1, typename W2>
void WeightRows(const float* x, int64_t N, int64_t C, int64_t d, float* weighted, W1 w1, W2 w2) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t a = 0; a < C; ++a) {
      const float* xa = x + (n * C + a) * d;
      float* out = weighted + (n * C + a) * 2 * d;
      const float f = w1(n, a), g = w2(n, a);
      for (int64_t e = 0; e < d; ++e) out[e] = f * xa[e];
      for (int64_t e = 0; e < d; ++e) out[d + e] = g * xa[e];
    }
  }
}

// In place: carry[n] holds [UF_n; UB_n] and becomes [TF_n; TB_n], the carries
// into chunk n (TF from the left, TB from the right).
void ScanCarries(float* carry, const std::vector<double>& P, int64_t N, int64_t C, int64_t d,
                 int64_t W) {
  const int64_t half = d * W;
  std::vector<float> run(half), next(half);
  for (int dir = 0; dir < 2; ++dir) {
    std::fill(run.begin(), run.end(), 0.0f);
    for (int64_t step = 0; step < N; ++step) {
      const int64_t n = dir == 0 ? step : N - 1 - step;
      float* block = carry + n * 2 * half + dir * half;
      const float decay = ExpNonPositive(static_cast<float>(P[n * (C + 1) + C]));
      // next = decay * run + U_n (carry out of chunk n); block = run (carry in).
      for (int64_t e = 0; e < half; ++e) next[e] = decay * run[e] + block[e];
      std::memcpy(block, run.data(), half * sizeof(float));
      run.swap(next);
    }
  }
}

// Copies tokens of chunks [n0, n0 + ng) into the group buffers (zero past L;
// [V | 1] when normalising). q may be null (the carry pass needs k and v only).
void LoadGroup(const float* q, const float* k, const float* v, int64_t L, int64_t C, int64_t dk,
               int64_t dv, bool normalize, int64_t n0, int64_t ng, RowBuffers& rb) {
  const int64_t W = normalize ? dv + 1 : dv;
  const int64_t t0 = n0 * C, t1 = std::min(L, (n0 + ng) * C), n = t1 - t0;
  const int64_t padded = ng * C;
  float* qp = rb.q.data_ptr<float>();
  float* kp = rb.k.data_ptr<float>();
  float* vp = rb.v.data_ptr<float>();
  if (q != nullptr) {
    std::memcpy(qp, q + t0 * dk, n * dk * sizeof(float));
    std::fill(qp + n * dk, qp + padded * dk, 0.0f);
  }
  std::memcpy(kp, k + t0 * dk, n * dk * sizeof(float));
  std::fill(kp + n * dk, kp + padded * dk, 0.0f);
  for (int64_t t = 0; t < n; ++t) {
    std::memcpy(vp + t * W, v + (t0 + t) * dv, dv * sizeof(float));
    if (normalize) vp[t * W + dv] = 1.0f;
  }
  std::fill(vp + n * W, vp + padded * W, 0.0f);
}

void ChunkRow(const float* q, const float* k, const float* v, const float* g, int64_t L,
              int64_t dk, int64_t dv, bool normalize, const AttentionOptions& o, bool lit,
              RowBuffers& rb, float* num, float* den) {
  const int64_t C = std::max<int64_t>(1, std::min(o.chunk_size, L));
  const int64_t N = (L + C - 1) / C, W = normalize ? dv + 1 : dv;
  const float c = o.scale;
  for (int64_t n = 0; n < N; ++n) {
    double* P = rb.P.data() + n * (C + 1);
    P[0] = 0.0;
    for (int64_t a = 0; a < C; ++a) {
      const int64_t t = n * C + a;
      P[a + 1] = P[a] + (t < L ? static_cast<double>(g[t]) : 0.0);
    }
  }
  const double* P = rb.P.data();
  auto ef = [](double x) { return ExpNonPositive(static_cast<float>(x)); };
  float* weighted = rb.weighted.data_ptr<float>();
  auto group = [&](const at::Tensor& t, int64_t ng) { return t.narrow(0, 0, ng); };
  if (N > 1) {  // carry contributions of every chunk, group by group, then the scan
    for (int64_t n0 = 0; n0 < N; n0 += kGroupChunks) {
      const int64_t ng = std::min(kGroupChunks, N - n0);
      LoadGroup(nullptr, k, v, L, C, dk, dv, normalize, n0, ng, rb);
      const double* Pg = P + n0 * (C + 1);
      WeightRows(rb.k.data_ptr<float>(), ng, C, dk, weighted,
                 [&](int64_t n, int64_t a) { return ef(Pg[n * (C + 1) + C] - Pg[n * (C + 1) + a]); },
                 [&](int64_t n, int64_t a) { return ef(Pg[n * (C + 1) + a + 1]); });
      at::Tensor dst = rb.carry.narrow(0, n0, ng);
      at::bmm_out(dst, group(rb.weighted, ng).transpose(1, 2), group(rb.v, ng));
    }
    ScanCarries(rb.carry.data_ptr<float>(), rb.P, N, C, dk, W);
  }
  for (int64_t n0 = 0; n0 < N; n0 += kGroupChunks) {
    const int64_t ng = std::min(kGroupChunks, N - n0);
    LoadGroup(q, k, v, L, C, dk, dv, normalize, n0, ng, rb);
    at::Tensor scores = group(rb.scores, ng), out = group(rb.out, ng);
    at::bmm_out(scores, group(rb.q, ng), group(rb.k, ng).transpose(1, 2));
    MaskScores(rb, n0, ng, C, c, lit);
    at::bmm_out(out, scores, group(rb.v, ng));
    if (N > 1) {
      const double* Pg = P + n0 * (C + 1);
      WeightRows(rb.q.data_ptr<float>(), ng, C, dk, weighted,
                 [&](int64_t n, int64_t a) { return c * ef(Pg[n * (C + 1) + a]); },
                 [&](int64_t n, int64_t a) {
                   return c * ef(Pg[n * (C + 1) + C] - Pg[n * (C + 1) + a + 1]);
                 });
      out.baddbmm_(group(rb.weighted, ng), rb.carry.narrow(0, n0, ng));
    }
    const float* o_ptr = out.data_ptr<float>();
    const int64_t t0 = n0 * C, n = std::min(L, (n0 + ng) * C) - t0;
    for (int64_t t = 0; t < n; ++t) {
      std::memcpy(num + (t0 + t) * dv, o_ptr + t * W, dv * sizeof(float));
      if (normalize) den[t0 + t] = o_ptr[t * W + dv];
    }
  }
}

}  // namespace

NumDen ChunkFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& g, const AttentionOptions& options) {
  const int64_t R = q.size(0), L = q.size(1), dk = q.size(2), dv = v.size(2);
  const bool normalize = options.normalize, lit = AllZero(g);
  const int64_t C = std::max<int64_t>(1, std::min(options.chunk_size, std::max<int64_t>(L, 1)));
  const int64_t N = (L + C - 1) / C, W = normalize ? dv + 1 : dv;
  at::Tensor num = at::empty({R, L, dv}, v.options());
  at::Tensor den = normalize ? at::empty({R, L}, v.options()) : at::Tensor();
  if (L == 0) return NumDen{num, den};
  at::parallel_for(0, R, 1, [&](int64_t begin, int64_t end) {
    RowBuffers rb;
    const at::TensorOptions f32 = q.options();
    const int64_t G = std::min(kGroupChunks, N);
    rb.q = at::empty({G, C, dk}, f32);
    rb.k = at::empty({G, C, dk}, f32);
    rb.v = at::empty({G, C, W}, f32);
    rb.scores = at::empty({G, C, C}, f32);
    rb.weighted = at::empty({G, C, 2 * dk}, f32);
    rb.out = at::empty({G, C, W}, f32);
    rb.carry = at::empty({N, 2 * dk, W}, f32);
    rb.P.resize(N * (C + 1));
    rb.mask = MaskScratch(C, kMaskBlock);
    for (int64_t r = begin; r < end; ++r) {
      ChunkRow(q.data_ptr<float>() + r * L * dk, k.data_ptr<float>() + r * L * dk,
               v.data_ptr<float>() + r * L * dv, g.data_ptr<float>() + r * L, L, dk, dv,
               normalize, options, lit, rb, num.data_ptr<float>() + r * L * dv,
               normalize ? den.data_ptr<float>() + r * L : nullptr);
    }
  });
  return NumDen{num, den};
}

}  // namespace lion::kernels::internal
