// The optimized CPU forms behind lion_attention.cc. Each takes contiguous
// float32 CPU tensors over R = B*H independent rows: q, k [R, L, dk],
// v [R, L, dv], g [R, L], with padded keys and values already zeroed, and
// returns num [R, L, dv] and den [R, L] (den undefined unless
// options.normalize), both multiplied by options.scale. With `finish`, a form
// may return num already divided, num / (den + eps), and den undefined: the
// division happens while the rows are in cache, and the separate [R, L, dv]
// output pass (and its allocation) disappears.
#ifndef LION_KERNELS_CPU_FORMS_H_
#define LION_KERNELS_CPU_FORMS_H_

#include <vector>

#include <ATen/ATen.h>

#include "lion/kernels/lion_attention.h"

namespace lion::kernels::internal {

// Full form (docs/lion-math.md section 2.2): per row, query blocks of the L x L
// scores, with the mask fused in from double prefix sums of g. Working memory
// O(threads*64*L).
NumDen FullFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                   const at::Tensor& g, const AttentionOptions& options, bool finish);

// State-passing chunk form (docs/lion-math.md section 4.1): all chunks' local
// terms as batched GEMMs, a short sequential scan over chunk carries, then all
// reads at once.
NumDen ChunkFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const at::Tensor& g, const AttentionOptions& options, bool finish);

// Rows of [num | den] (width dv + 1) to num / (den + eps) in `y` (width dv).
// y may alias rows (y[t] starts where rows[t] does, stride dv + 1 or dv).
void FinishRows(const float* rows, int64_t count, int64_t dv, float eps, float* y,
                int64_t y_stride);

// Bidirectional RNN form (docs/lion-math.md section 3): one vectorized scan per
// (row, direction), scanning only the first row_lengths[r] tokens. `finish`
// applies when the directions run in place (rows >= threads); otherwise den
// comes back.
NumDen RnnFormCpu(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& g, const std::vector<int64_t>& row_lengths,
                  const AttentionOptions& options, bool finish);

// True when every log-decay is exactly 0 (LION-LIT): the mask is all ones.
bool AllZero(const at::Tensor& g);

}  // namespace lion::kernels::internal

#endif  // LION_KERNELS_CPU_FORMS_H_
