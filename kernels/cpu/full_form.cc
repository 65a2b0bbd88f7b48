// Full form on the CPU. For each row and block of queries: S = Q_blk K^T
// (GEMM), S *= c * M (the mask built on the fly: exp of a difference of double
// prefix sums, so the exponent is exact to fp32 even where the prefix sums are
// large), then [num | den] = S [V | 1] (GEMM). The L x L matrix never exists
// whole; a block of 64 query rows stays in cache between the two GEMMs.
#include <algorithm>
#include <vector>

#include <ATen/Parallel.h>

#include "cpu/forms.h"
#include "cpu/mask.h"

namespace lion::kernels::internal {
namespace {

constexpr int64_t kQueryBlock = 64;

}  // namespace

bool AllZero(const at::Tensor& g) { return g.numel() == 0 || !g.ne(0).any().item<bool>(); }

void FinishRows(const float* rows, int64_t count, int64_t dv, float eps, float* y,
                int64_t y_stride) {
  for (int64_t t = 0; t < count; ++t) {
    const float* row = rows + t * (dv + 1);
    const float inv = 1.0f / (row[dv] + eps);
    float* out = y + t * y_stride;
    for (int64_t e = 0; e < dv; ++e) out[e] = row[e] * inv;
  }
}

NumDen FullFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                   const at::Tensor& g, const AttentionOptions& options, bool finish) {
  finish = finish && options.normalize;
  const int64_t R = q.size(0), L = q.size(1), dv = v.size(2);
  const bool lit = AllZero(g);
  // [V | 1] gives num and den from one GEMM.
  const at::Tensor vext = options.normalize ? at::cat({v, at::ones({R, L, 1}, v.options())}, 2) : v;
  const int64_t W = vext.size(2);
  at::Tensor out = at::empty({R, L, W}, v.options());
  // Exclusive prefix sums of g in double: G[r, t] = sum_{u<t} g[r, u].
  at::Tensor G = at::zeros({R, L + 1}, g.options().dtype(at::kDouble));
  G.narrow(1, 1, L).copy_(at::cumsum(g.to(at::kDouble), 1));

  const int64_t blocks_per_row = (L + kQueryBlock - 1) / kQueryBlock;
  at::parallel_for(0, R * blocks_per_row, 1, [&](int64_t begin, int64_t end) {
    MaskScratch scratch(L, kQueryBlock);
    at::Tensor scores = at::empty({kQueryBlock, L}, q.options());
    for (int64_t task = begin; task < end; ++task) {
      const int64_t r = task / blocks_per_row;
      const int64_t i0 = (task % blocks_per_row) * kQueryBlock;
      const int64_t i1 = std::min(L, i0 + kQueryBlock);
      at::Tensor s = scores.narrow(0, 0, i1 - i0);
      at::mm_out(s, q[r].narrow(0, i0, i1 - i0), k[r].t());
      ApplyMaskRows(s.data_ptr<float>(), i0, i1, L, G[r].data_ptr<double>(), options.scale, lit,
                     scratch);
      at::Tensor o = out[r].narrow(0, i0, i1 - i0);
      at::mm_out(o, s, vext[r]);
      // In place: row t's output overwrites the start of its own [num | den] row.
      if (finish) FinishRows(o.data_ptr<float>(), i1 - i0, dv, options.eps, o.data_ptr<float>(), W);
    }
  });
  NumDen result;
  result.num = options.normalize ? out.narrow(2, 0, dv) : out;
  if (options.normalize && !finish) result.den = out.select(2, dv);
  return result;
}

}  // namespace lion::kernels::internal
