// State-passing chunk form (docs/lion-math.md section 4.1) on the CPU. With
// chunks of C tokens, local exclusive prefix P_a of the log-decays, chunk total
// P_n and inclusive prefix Pi_a = P_{a+1}:
//   intra:   S = c (Q K^T) o Mloc,  Mloc = exp(P_a - P_b) below, exp(Pi_b - Pi_a) above
//   carries: UF = sum_b exp(P_n - P_b) k_b [v_b|1]^T,  UB = sum_b exp(Pi_b) k_b [v_b|1]^T
//            TF_{c+1} = exp(P_n) TF_c + UF_c (left to right), TB likewise right to left
//   reads:   [c e^{P_a} q_a | c e^{P_n - Pi_a} q_a] [TF ; TB]
// Every exponent is a partial sum of non-positive g local to one chunk (taken
// in double, cast to float once formed), so nothing overflows at any L.
//
// One task per row (b, h), in two passes over groups of chunks that stay in
// cache. Pass 1 runs right to left and stores only the backward carries TB
// (one d x W block per chunk). Pass 2 runs left to right: intra-chunk scores
// and outputs, the forward carries TF scanned within the group from a running
// state, and the reads of both carries, as batched GEMMs with the mask and
// decay weights in fused loops. Carries are the largest memory stream at long
// L: storing one direction once (instead of both, then rewriting them in a
// separate scan) cut the row's carry traffic by 4x.
// Working memory per task: the group buffers plus TB, O(L d^2 / C).
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
  at::Tensor local;     // [G, dk, W]: the group's carry contributions (UB or UF)
  at::Tensor carries;   // [G, 2 dk, W]: [TF_n; TB_n] into each chunk of the group
  at::Tensor backward;  // [N, dk, W]: TB_n for every chunk of the row (pass 1)
  std::vector<float> run;  // [dk, W]: the running carry of a scan
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

// weighted[n, a] = w(n, a) x_a for rows of width d, written with row stride `stride`.
template <typename Weight>
void WeightRows(const float* x, int64_t N, int64_t C, int64_t d, float* weighted, int64_t stride,
                Weight w) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t a = 0; a < C; ++a) {
      const float* xa = x + (n * C + a) * d;
      float* out = weighted + (n * C + a) * stride;
      const float f = w(n, a);
LION_VECTORIZE_LOOP
      for (int64_t e = 0; e < d; ++e) out[e] = f * xa[e];
    }
  }
}

// One scan step over a d x W carry: *carry_in = run (the carry into the
// chunk), then run = decay * run + local (the carry out of it).
void ScanStep(float* carry_in, const float* local, float decay, std::vector<float>& run) {
  const int64_t n = static_cast<int64_t>(run.size());
  float* r = run.data();
  std::memcpy(carry_in, r, n * sizeof(float));
LION_VECTORIZE_LOOP
  for (int64_t e = 0; e < n; ++e) r[e] = decay * r[e] + local[e];
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
              RowBuffers& rb, float* num, float* den, bool finish) {
  const int64_t C = std::max<int64_t>(1, std::min(o.chunk_size, L));
  const int64_t N = (L + C - 1) / C, W = normalize ? dv + 1 : dv, block = dk * W;
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
  auto chunk_decay = [&](int64_t n) { return ef(P[n * (C + 1) + C]); };
  float* weighted = rb.weighted.data_ptr<float>();
  const float* local = rb.local.data_ptr<float>();
  auto group = [&](const at::Tensor& t, int64_t ng) { return t.narrow(0, 0, ng); };
  // Decay-weighted keys, packed [ng, C, dk] at the start of the weighted buffer.
  auto weighted_keys = [&](int64_t ng) {
    return rb.weighted.view({-1}).narrow(0, 0, ng * C * dk).view({ng, C, dk});
  };
  // Carry contributions of the group's chunks into rb.local: sum_b w(n, b) k_b [v_b|1]^T.
  // Needs the group's keys and values loaded.
  auto contributions = [&](int64_t ng, auto weight) {
    WeightRows(rb.k.data_ptr<float>(), ng, C, dk, weighted, dk, weight);
    at::Tensor dst = group(rb.local, ng);
    at::bmm_out(dst, weighted_keys(ng).transpose(1, 2), group(rb.v, ng));
  };
  // Groups of kGroupChunks chunks aligned at chunk 0, so both passes see the same groups.
  const int64_t groups = (N + kGroupChunks - 1) / kGroupChunks;

  // Pass 1, right to left: TB_n for every chunk.
  if (N > 1) {
    std::fill(rb.run.begin(), rb.run.end(), 0.0f);
    float* backward = rb.backward.data_ptr<float>();
    for (int64_t gi = groups - 1; gi >= 0; --gi) {
      const int64_t n0 = gi * kGroupChunks, ng = std::min(kGroupChunks, N - n0);
      LoadGroup(nullptr, k, v, L, C, dk, dv, normalize, n0, ng, rb);
      const double* Pg = P + n0 * (C + 1);
      contributions(ng, [&](int64_t n, int64_t b) { return ef(Pg[n * (C + 1) + b + 1]); });  // UB
      for (int64_t n = n0 + ng - 1; n >= n0; --n) {
        ScanStep(backward + n * block, local + (n - n0) * block, chunk_decay(n), rb.run);
      }
    }
  }

  // Pass 2, left to right: intra-chunk terms, TF from a running state, reads.
  if (N > 1) std::fill(rb.run.begin(), rb.run.end(), 0.0f);
  for (int64_t n0 = 0; n0 < N; n0 += kGroupChunks) {
    const int64_t ng = std::min(kGroupChunks, N - n0);
    LoadGroup(q, k, v, L, C, dk, dv, normalize, n0, ng, rb);
    at::Tensor scores = group(rb.scores, ng), out = group(rb.out, ng);
    at::bmm_out(scores, group(rb.q, ng), group(rb.k, ng).transpose(1, 2));
    MaskScores(rb, n0, ng, C, c, lit);
    at::bmm_out(out, scores, group(rb.v, ng));
    if (N > 1) {
      const double* Pg = P + n0 * (C + 1);
      contributions(ng, [&](int64_t n, int64_t b) {  // UF
        return ef(Pg[n * (C + 1) + C] - Pg[n * (C + 1) + b]);
      });
      float* carries = rb.carries.data_ptr<float>();
      const float* backward = rb.backward.data_ptr<float>();
      for (int64_t n = n0; n < n0 + ng; ++n) {
        float* into = carries + (n - n0) * 2 * block;
        ScanStep(into, local + (n - n0) * block, chunk_decay(n), rb.run);
        std::memcpy(into + block, backward + n * block, block * sizeof(float));
      }
      const float* qg = rb.q.data_ptr<float>();
      WeightRows(qg, ng, C, dk, weighted, 2 * dk,
                 [&](int64_t n, int64_t a) { return c * ef(Pg[n * (C + 1) + a]); });
      WeightRows(qg, ng, C, dk, weighted + dk, 2 * dk, [&](int64_t n, int64_t a) {
        return c * ef(Pg[n * (C + 1) + C] - Pg[n * (C + 1) + a + 1]);
      });
      out.baddbmm_(group(rb.weighted, ng), group(rb.carries, ng));
    }
    const float* o_ptr = out.data_ptr<float>();
    const int64_t t0 = n0 * C, n = std::min(L, (n0 + ng) * C) - t0;
    if (finish) {
      FinishRows(o_ptr, n, dv, o.eps, num + t0 * dv, dv);
      continue;
    }
    for (int64_t t = 0; t < n; ++t) {
      std::memcpy(num + (t0 + t) * dv, o_ptr + t * W, dv * sizeof(float));
      if (normalize) den[t0 + t] = o_ptr[t * W + dv];
    }
  }
}

}  // namespace

NumDen ChunkFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& g, const AttentionOptions& options, bool finish) {
  const int64_t R = q.size(0), L = q.size(1), dk = q.size(2), dv = v.size(2);
  const bool normalize = options.normalize, lit = AllZero(g);
  finish = finish && normalize;
  const int64_t C = std::max<int64_t>(1, std::min(options.chunk_size, std::max<int64_t>(L, 1)));
  const int64_t N = (L + C - 1) / C, W = normalize ? dv + 1 : dv;
  at::Tensor num = at::empty({R, L, dv}, v.options());
  at::Tensor den = normalize && !finish ? at::empty({R, L}, v.options()) : at::Tensor();
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
    rb.local = at::empty({G, dk, W}, f32);
    rb.carries = at::empty({G, 2 * dk, W}, f32);
    rb.backward = at::empty({N, dk, W}, f32);
    rb.run.resize(dk * W);
    rb.P.resize(N * (C + 1));
    rb.mask = MaskScratch(C, kMaskBlock);
    for (int64_t r = begin; r < end; ++r) {
      ChunkRow(q.data_ptr<float>() + r * L * dk, k.data_ptr<float>() + r * L * dk,
               v.data_ptr<float>() + r * L * dv, g.data_ptr<float>() + r * L, L, dk, dv,
               normalize, options, lit, rb, num.data_ptr<float>() + r * L * dv,
               den.defined() ? den.data_ptr<float>() + r * L : nullptr, finish);
    }
  });
  return NumDen{num, den};
}

}  // namespace lion::kernels::internal
