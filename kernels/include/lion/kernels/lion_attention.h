// The optimized LION attention core on LibTorch tensors: one entry point for
// every variant (the decay is data: g = 0 for LIT, constant for D, per token
// for S) and every form. CPU float32 tensors run our CPU kernels; CUDA tensors
// run the CUDA kernels when the build has them.
//
// Inputs (float32, any strides; made contiguous internally):
//   q, k    [B, H, L, dk]  queries and keys after the feature map
//   v       [B, H, L, dv]
//   g       [B, H, L]      per-token log-decays, <= 0 (compute as -softplus)
//   lengths [B] int64, or an undefined tensor: right-padded sequences are
//           computed at their true length; output rows past it are 0.
// Errors: INVALID_ARGUMENT for shape/dtype/device mismatches or bad options;
// INTERNAL if LibTorch throws (the message names the form). Never throws.
// Thread safety: reentrant; uses LibTorch's intra-op thread pool.
#ifndef LION_KERNELS_LION_ATTENTION_H_
#define LION_KERNELS_LION_ATTENTION_H_

#include <vector>

#include <ATen/ATen.h>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"

namespace lion::kernels {

// num [B,H,L,dv] and den [B,H,L], both multiplied by options.scale.
// den is left undefined when !options.normalize (the MLM path never needs it).
struct NumDen {
  at::Tensor num;
  at::Tensor den;
};

absl::StatusOr<NumDen> LionAttentionNumDen(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, const at::Tensor& g,
                                           const at::Tensor& lengths,
                                           const AttentionOptions& options);

// y [B,H,L,dv]: num / (den + eps) when options.normalize, else num.
absl::StatusOr<at::Tensor> LionAttention(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v, const at::Tensor& g,
                                            const at::Tensor& lengths,
                                            const AttentionOptions& options);

// Two-order variant (spec 7), no padding: orders[m] is an int64 [L]
// permutation (position -> token), g_orders[m] is [B,H,L] in order m's
// positions. Runs options.form along each order and adds num and den.
absl::StatusOr<at::Tensor> LionAttentionMultiOrder(const at::Tensor& q,
                                                      const at::Tensor& k,
                                                      const at::Tensor& v,
                                                      const std::vector<at::Tensor>& orders,
                                                      const std::vector<at::Tensor>& g_orders,
                                                      const AttentionOptions& options);

// Bytes of working memory a form needs beyond its inputs and output, for the
// server's form policy (spec section 5). Upper bound, fp32.
int64_t AttentionWorkspaceBytes(Form form, int64_t batch, int64_t heads, int64_t length,
                                int64_t d, int64_t chunk_size);

}  // namespace lion::kernels

#endif  // LION_KERNELS_LION_ATTENTION_H_
