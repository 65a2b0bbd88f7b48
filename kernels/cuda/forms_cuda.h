// Host-side interface between the CUDA entry point (lion_attention_cuda.cc)
// and the forms' launchers (*.cu). Arguments arrive validated. Each launcher
// enqueues its kernels on args.stream and checks every launch. Internal.
#ifndef LION_KERNELS_CUDA_FORMS_CUDA_H_
#define LION_KERNELS_CUDA_FORMS_CUDA_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
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

// Floats of one carry: a kHeadDim x kHeadDim state (keys' features x values'
// features, zero-padded) followed by its kHeadDim normaliser vector.
inline constexpr int64_t kCarryFloats = 64 * 64 + 64;

// How the chunk form splits a row of `chunks` chunks into segments: blocks
// walk the chunks of one segment in order, so enough segments are needed to
// fill the GPU (about kChunkBlocksTarget blocks over all rows). A pure
// function of the shape, so the workspace size is too.
struct ChunkPlan {
  int64_t chunks = 0;       // ceil(L / kCudaChunk)
  int64_t per_segment = 1;  // chunks per segment
  int64_t segments = 0;     // ceil(chunks / per_segment)
};
inline constexpr int64_t kChunkBlocksTarget = 1024;
ChunkPlan PlanChunks(int64_t rows, int64_t length);

// Workspace regions, carved from the caller's buffer by the entry point.
struct Workspace {
  double* prefix = nullptr;  // [R, L + 1] exclusive prefix sums of g (full, chunk)
  float* local = nullptr;    // [R, chunks, kCarryFloats] backward carries inside a segment
  float* seg_f = nullptr;    // [R, segments, kCarryFloats] forward totals, then carries
  float* seg_b = nullptr;    // [R, segments, kCarryFloats] backward totals, then carries
  float* num = nullptr;      // [R, L, dv] rnn: float32 numerators when y is wanted
  float* den = nullptr;      // [R, L]
};

// Carves `base` (at least WorkspaceBytes) into the regions `form` uses.
size_t WorkspaceBytes(Form form, const AttentionShape& shape);
Workspace CarveWorkspace(Form form, const AttentionShape& shape, void* base);

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
