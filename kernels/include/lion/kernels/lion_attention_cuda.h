// The LION attention core on a CUDA device, on raw device pointers and a
// cudaStream_t (no LibTorch: the kernels build and test without LibTorch's
// CUDA; lion_attention.h dispatches CUDA tensors here on LibTorch's current
// stream). Same contract as the CPU forms (lion_attention.h): q, k [B,H,L,dk]
// and v [B,H,L,dv] contiguous in `dtype`; g [B,H,L] contiguous float32
// log-decays (<= 0); lengths (device, int64 [B]) may be null, and each value is
// clamped to [0, L]: rows at or past it are 0 and padded keys take no part
// (docs/lion-math.md section 6). Accumulation is float32 whatever the input
// type.
//
// Forms (docs/gpu.md has the design):
//   full:  FlashAttention-like tiles of 64 queries x 64 keys, the mask formed
//          on chip from double prefix sums of g; no L x L buffer anywhere.
//   chunk: state-passing chunks (docs/lion-math.md section 4.1) of kCudaChunk
//          tokens. The GPU chunk is fixed: options.chunk_size is ignored (the
//          result does not depend on it; only the rounding does).
//   rnn:   the bidirectional scan (docs/lion-math.md section 3), states kept
//          on chip.
// Head widths: full and chunk take dk, dv <= kCudaMaxHeadDim; rnn takes
// dk <= kCudaRnnMaxDk and dv <= 1023.
#ifndef LION_KERNELS_LION_ATTENTION_CUDA_H_
#define LION_KERNELS_LION_ATTENTION_CUDA_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "lion/kernels/attention_options.h"

typedef struct CUstream_st* cudaStream_t;

namespace lion::kernels {

enum class DType { kFloat32, kBFloat16, kFloat16 };
const char* DTypeName(DType dtype);  // "float32", "bfloat16", "float16"
int64_t DTypeBytes(DType dtype);

inline constexpr int64_t kCudaMaxHeadDim = 64;
inline constexpr int64_t kCudaRnnMaxDk = 128;
inline constexpr int64_t kCudaChunk = 64;

// Where the results go: either `y` (finished rows [B,H,L,dv] in the input
// dtype: num / (den + eps) when options.normalize, else num), or `num`
// ([B,H,L,dv] float32) with `den` ([B,H,L] float32, required when
// options.normalize), both multiplied by options.scale.
struct CudaAttentionOutputs {
  void* y = nullptr;
  float* num = nullptr;
  float* den = nullptr;
};

// Device workspace (bytes) one call of `form` needs; the caller allocates it
// (the model through LibTorch's caching allocator, tests with cudaMalloc).
// This and DTypeName/DTypeBytes exist in every build; LionAttentionCuda only
// in builds with the CUDA kernels (LION_HAVE_CUDA).
size_t LionAttentionCudaWorkspaceBytes(Form form, const AttentionShape& shape);

// Validates shapes, options, head widths, pointers and the workspace size,
// launches every kernel of the form on `stream` and checks each launch and
// async memset. Asynchronous: results are ready when the stream is. Errors:
// INVALID_ARGUMENT (bad arguments, naming them), INTERNAL (a CUDA error,
// naming the kernel and CUDA's message). Thread-compatible per stream.
absl::Status LionAttentionCuda(const AttentionShape& shape, DType dtype, const void* q,
                               const void* k, const void* v, const float* g, const int64_t* lengths,
                               const AttentionOptions& options, const CudaAttentionOutputs& outputs,
                               void* workspace, size_t workspace_bytes, cudaStream_t stream);

}  // namespace lion::kernels

#endif  // LION_KERNELS_LION_ATTENTION_CUDA_H_
