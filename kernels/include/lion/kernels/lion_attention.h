// The optimized LION attention core on LibTorch tensors: one entry point for
// every variant (the decay is data: g = 0 for LIT, constant for D, per token
// for S) and every form. CPU tensors run the CPU kernels (float32). CUDA
// tensors run the CUDA kernels (lion_attention_cuda.h: float32, bfloat16 or
// float16 inputs, float32 accumulation) on LibTorch's current stream, in
// builds compiled with nvcc against a CUDA torch wheel; other builds answer
// UNIMPLEMENTED for CUDA tensors.
//
// Inputs (any strides; made contiguous internally), all on one device:
//   q, k    [B, H, L, dk]  queries and keys after the feature map
//   v       [B, H, L, dv]  (CPU: float32; CUDA: q, k, v share one of the three dtypes)
//   g       [B, H, L]      float32 per-token log-decays, <= 0 (compute as -softplus)
//   lengths [B] int64, or an undefined tensor: right-padded sequences are
//           computed at their true length; output rows past it are 0. CPU
//           lengths are checked to lie in [0, L]; lengths on a GPU are not
//           read back (the kernels clamp them to [0, L]).
// Errors: INVALID_ARGUMENT for shape/dtype/device mismatches or bad options
// (CUDA: head widths above the kernels' limits too); UNIMPLEMENTED for a
// device this build cannot run (CUDA tensors in a build without the CUDA
// kernels); INTERNAL if LibTorch throws (the message names the form) or a
// CUDA call fails (the message names the kernel or call and CUDA's error).
// Exceptions LibTorch throws while computing are caught here and returned as
// that INTERNAL status.
// Thread safety: reentrant; uses LibTorch's intra-op thread pool (CPU) or
// the calling thread's current CUDA stream.
#ifndef LION_KERNELS_LION_ATTENTION_H_
#define LION_KERNELS_LION_ATTENTION_H_

#include <ATen/ATen.h>

#include <vector>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"

namespace lion::kernels {

// num [B,H,L,dv] and den [B,H,L], both multiplied by options.scale, float32
// whatever the input dtype. den is left undefined when !options.normalize
// (the MLM path never needs it).
struct NumDen {
  at::Tensor num;
  at::Tensor den;
};

absl::StatusOr<NumDen> LionAttentionNumDen(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, const at::Tensor& g,
                                           const at::Tensor& lengths,
                                           const AttentionOptions& options);

// y [B,H,L,dv] in the inputs' dtype: num / (den + eps) when
// options.normalize, else num.
absl::StatusOr<at::Tensor> LionAttention(const at::Tensor& q, const at::Tensor& k,
                                         const at::Tensor& v, const at::Tensor& g,
                                         const at::Tensor& lengths,
                                         const AttentionOptions& options);

// Two-order variant (docs/lion-math.md section 7), no padding: orders[m] is an
// int64 [L] permutation (position -> token), g_orders[m] is [B,H,L] in order
// m's positions. Runs options.form along each order and adds num and den.
absl::StatusOr<at::Tensor> LionAttentionMultiOrder(const at::Tensor& q, const at::Tensor& k,
                                                   const at::Tensor& v,
                                                   const std::vector<at::Tensor>& orders,
                                                   const std::vector<at::Tensor>& g_orders,
                                                   const AttentionOptions& options);

// Bytes of working memory a form needs beyond its inputs and output, for the
// server's form policy (docs/lion-math.md section 5). Upper bound, fp32. The
// CPU kernels' figure; the CUDA kernels' is LionAttentionCudaWorkspaceBytes.
int64_t AttentionWorkspaceBytes(Form form, int64_t batch, int64_t heads, int64_t length, int64_t d,
                                int64_t chunk_size);

}  // namespace lion::kernels

#endif  // LION_KERNELS_LION_ATTENTION_H_
