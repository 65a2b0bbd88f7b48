// The chunk form's carries on chip (docs/lion-math.md section 4.1): a carry is
// a kHeadDim x kHeadDim float32 state T (keys' features x values' features)
// plus its normaliser vector z, both zero-padded. Shared by the carry pass
// (chunk_carries.cu) and the output pass (chunk_form.cu). Internal.
#ifndef LION_KERNELS_CUDA_CHUNK_STATE_CUH_
#define LION_KERNELS_CUDA_CHUNK_STATE_CUH_

#include "cuda/cuda_common.cuh"
#include "cuda/forms_cuda.h"
#include "cuda/tile_rows.cuh"

namespace lion::kernels::cuda {

// Everything both chunk passes need. `local`: per chunk, the backward carry
// from the chunks to its right inside its segment; seg_f / seg_b: per
// segment, the forward and backward totals, then (after the scan) the carries
// into the segment from the left and from the right.
struct ChunkParams {
  const void* q;
  const void* k;
  const void* v;
  const double* prefix;
  const int64_t* lengths;
  float* local;
  float* seg_f;
  float* seg_b;
  int64_t heads, L, row0;
  int64_t chunks, per_segment, segments;
  int dk, dv;
  float scale;
  bool vec_qk, vec_v;
  bool store_local;  // segments of one chunk have no inner backward carries
  OutRows out;
};

// Global carry (state with row stride kHeadDim, then z) <-> shared memory
// (state with row stride kLdS, z apart). Every thread takes part.
__device__ inline void LoadCarry(float* sT, float* sZ, const float* src) {
  for (int idx = threadIdx.x; idx < kHeadDim * kHeadDim; idx += blockDim.x) {
    sT[(idx / kHeadDim) * kLdS + idx % kHeadDim] = src[idx];
  }
  for (int t = threadIdx.x; t < kHeadDim; t += blockDim.x) sZ[t] = src[kHeadDim * kHeadDim + t];
}
__device__ inline void StoreCarry(float* dst, const float* sT, const float* sZ) {
  for (int idx = threadIdx.x; idx < kHeadDim * kHeadDim; idx += blockDim.x) {
    dst[idx] = sT[(idx / kHeadDim) * kLdS + idx % kHeadDim];
  }
  for (int t = threadIdx.x; t < kHeadDim; t += blockDim.x) dst[kHeadDim * kHeadDim + t] = sZ[t];
}
__device__ inline void ZeroCarry(float* sT, float* sZ) {
  for (int idx = threadIdx.x; idx < kTile * kLdS; idx += blockDim.x) sT[idx] = 0.0f;
  for (int t = threadIdx.x; t < kHeadDim; t += blockDim.x) sZ[t] = 0.0f;
}

// dst[b, :] = w[b] * src[b, :] over the whole 64-row tile (every thread).
template <typename Op, int kLd>
__device__ inline void WeightRows(Op* dst, const Op* src, const float* w) {
  for (int idx = threadIdx.x; idx < kTile * kHeadDim; idx += blockDim.x) {
    const int b = idx / kHeadDim, d = idx % kHeadDim;
    dst[b * kLd + d] = FromFloat<Op>(w[b] * ToFloat(src[b * kLd + d]));
  }
}

// The carry update from one chunk's weighted keys sW [64 tokens][kLd] and
// values sV: T = decay * T + sW^T sV (tensor cores; warp w owns T's rows
// [16 w, 16 w + 16)) and z = decay * z + sW^T 1 (threads < 64). Reads sW and
// sV only, so both may run in one phase after a barrier.
template <typename Tr>
__device__ inline void UpdateCarry(float* sT, float* sZ, float decay, const typename Tr::Op* sW,
                                   const typename Tr::Op* sV) {
  const int warp = threadIdx.x / 32;
  if (threadIdx.x < kHeadDim) {
    float sum = 0.0f;
    for (int b = 0; b < kTile; ++b) sum += ToFloat(sW[b * Tr::kLd + threadIdx.x]);
    sZ[threadIdx.x] = decay * sZ[threadIdx.x] + sum;
  }
  typename Tr::Acc acc[kHeadDim / 16];
#pragma unroll
  for (int f = 0; f < kHeadDim / 16; ++f) {
    wmma::load_matrix_sync(acc[f], sT + 16 * warp * kLdS + 16 * f, kLdS, wmma::mem_row_major);
#pragma unroll
    for (int i = 0; i < acc[f].num_elements; ++i) acc[f].x[i] *= decay;
  }
  // A(m = feature, k = token) = sW[token][feature]: column-major from sW.
  Tr::template Gemm<false, true>(acc, sW + 16 * warp, Tr::kLd, sV, Tr::kLd, kTile);
#pragma unroll
  for (int f = 0; f < kHeadDim / 16; ++f) {
    wmma::store_matrix_sync(sT + 16 * warp * kLdS + 16 * f, acc[f], kLdS, wmma::mem_row_major);
  }
}

// The carry pass (chunk_carries.cu): per segment, the forward and backward
// totals and the inner backward carries, then the scan over segments that
// turns the totals into each segment's incoming carries.
absl::Status LaunchChunkCarries(const FormArgs& args, const ChunkParams& params);

}  // namespace lion::kernels::cuda

#endif  // LION_KERNELS_CUDA_CHUNK_STATE_CUH_
