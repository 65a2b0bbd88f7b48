// CUDA tensors through the CUDA kernels, on LibTorch's current stream of the
// tensors' device, with the workspace from LibTorch's caching allocator.
// Used by lion_attention.cc in builds with LibTorch's CUDA. Internal.
#ifndef LION_KERNELS_CUDA_TORCH_DISPATCH_H_
#define LION_KERNELS_CUDA_TORCH_DISPATCH_H_

#include "absl/status/statusor.h"
#include "lion/kernels/lion_attention.h"

namespace lion::kernels::internal {

// Inputs validated by the caller (same device, shapes). q, k, v float32,
// bfloat16 or float16; g float32; lengths int64 on any device (its values
// are clamped to [0, L] on the device, so no host sync is needed).
// finish: num holds the finished rows in q's dtype and den is undefined;
// otherwise num (float32) and den (float32, when options.normalize).
absl::StatusOr<NumDen> NumDenCuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& g, const at::Tensor& lengths,
                                  const AttentionOptions& options, bool finish);

}  // namespace lion::kernels::internal

#endif  // LION_KERNELS_CUDA_TORCH_DISPATCH_H_
