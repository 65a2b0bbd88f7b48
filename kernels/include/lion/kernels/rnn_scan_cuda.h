// The bidirectional RNN form (lion-spec 3) as a CUDA kernel on raw device
// pointers, so it builds and tests without LibTorch's CUDA. Same contract as
// the CPU forms: q, k [B,H,L,dk], v [B,H,L,dv], g [B,H,L], contiguous fp32 in
// device memory; lengths (device, int64 [B]) may be null. Writes
// num [B,H,L,dv] and den [B,H,L] (den may be null when !options.normalize),
// both multiplied by options.scale; rows past a length are 0.
#ifndef LION_KERNELS_RNN_SCAN_CUDA_H_
#define LION_KERNELS_RNN_SCAN_CUDA_H_

#include <cstdint>

#include "absl/status/status.h"
#include "lion/kernels/attention_options.h"

typedef struct CUstream_st* cudaStream_t;

namespace lion::kernels {

// Largest head width the kernel takes (the state column lives in registers).
inline constexpr int64_t kRnnScanCudaMaxDk = 128;

// Number of CUDA devices usable by this process; 0 without a GPU or driver.
int CudaDeviceCount();

// Validates shapes and options, launches on `stream`, checks the launch.
// Asynchronous: outputs are ready when the stream is.
absl::Status LionRnnScanCuda(const AttentionShape& shape, const float* q, const float* k,
                             const float* v, const float* g, const int64_t* lengths,
                             const AttentionOptions& options, float* num, float* den,
                             cudaStream_t stream);

}  // namespace lion::kernels

#endif  // LION_KERNELS_RNN_SCAN_CUDA_H_
