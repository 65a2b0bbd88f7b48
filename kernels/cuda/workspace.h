// The CUDA forms' workspace: how the chunk form splits rows into segments
// and how the caller's workspace buffer is carved into regions. Plain host
// code, compiled in every build (the form policy sizes GPU memory with it
// even where the kernels are not built). Internal.
#ifndef LION_KERNELS_CUDA_WORKSPACE_H_
#define LION_KERNELS_CUDA_WORKSPACE_H_

#include <cstddef>
#include <cstdint>

#include "lion/kernels/attention_options.h"

namespace lion::kernels::cuda {

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

}  // namespace lion::kernels::cuda

#endif  // LION_KERNELS_CUDA_WORKSPACE_H_
