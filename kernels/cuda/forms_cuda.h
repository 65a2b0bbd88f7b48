// Host-side interface between the CUDA entry point (lion_attention_cuda.cc)
// and the forms' launchers (*.cu). Arguments arrive validated. Each launcher
// enqueues its kernels on args.stream and checks every launch. Internal.
#ifndef LION_KERNELS_CUDA_FORMS_CUDA_H_
#define LION_KERNELS_CUDA_FORMS_CUDA_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "cuda/workspace.h"
#include "lion/kernels/lion_attention_cuda.h"

namespace lion::kernels::cuda {

// One validated call.
struct FormArgs {
  AttentionShape shape;
  DType dtype = DType::kFloat32;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const float* g = nullptr;
  const int64_t* lengths = nullptr;
  AttentionOptions options;
  CudaAttentionOutputs out;
  cudaStream_t stream = nullptr;
};

// G[r, t] = sum_{u < t} g[r, u] in double for t <= L, with g read as 0 at or
// past the row's length.
absl::Status LaunchPrefix(const FormArgs& args, double* prefix);
absl::Status LaunchFull(const FormArgs& args, const Workspace& ws);
absl::Status LaunchChunk(const FormArgs& args, const Workspace& ws);
absl::Status LaunchRnn(const FormArgs& args, const Workspace& ws);

// Grids put rows in blockIdx.y, which holds at most 65535: launches go in
// slices of rows.
inline constexpr int64_t kMaxGridRows = 65535;

}  // namespace lion::kernels::cuda

#endif  // LION_KERNELS_CUDA_FORMS_CUDA_H_
