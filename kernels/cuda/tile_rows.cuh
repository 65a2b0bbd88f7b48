// Pieces shared by the tiled forms (full, chunk): the LION mask inside one
// 64 x 64 score tile, and the write-out of finished rows. Internal.
#ifndef LION_KERNELS_CUDA_TILE_ROWS_CUH_
#define LION_KERNELS_CUDA_TILE_ROWS_CUH_

#include "cuda/cuda_common.cuh"

namespace lion::kernels::cuda {

// Where a form's rows go (the validated CudaAttentionOutputs and options).
struct OutRows {
  void* y = nullptr;
  float* num = nullptr;
  float* den = nullptr;
  int dv = 0;
  float eps = 0.0f;
  bool normalize = false;
};

// Rows [i0, i0 + 64) (those below L) of one (b, h) problem of true length n:
// sO [64][kLdS] holds c * num, sDen [64] c * den; rows >= n are written as 0
// (sO and sDen are not read for them). Every thread of the block takes part.
template <typename T>
__device__ void WriteOutputRows(const OutRows& o, int64_t row, int64_t L, int64_t n, int64_t i0,
                                const float* sO, const float* sDen) {
  const int rows = static_cast<int>(L - i0 < kTile ? L - i0 : kTile);
  for (int idx = threadIdx.x; idx < rows * o.dv; idx += blockDim.x) {
    const int a = idx / o.dv, e = idx % o.dv;
    const bool valid = i0 + a < n;
    float val = valid ? sO[a * kLdS + e] : 0.0f;
    const int64_t at = (row * L + i0 + a) * o.dv + e;
    if (o.y != nullptr) {
      if (valid && o.normalize) val = val / (sDen[a] + o.eps);
      static_cast<T*>(o.y)[at] = FromFloat<T>(val);
    } else {
      o.num[at] = val;
    }
  }
  if (o.y == nullptr && o.den != nullptr) {
    for (int a = threadIdx.x; a < rows; a += blockDim.x) {
      o.den[row * L + i0 + a] = i0 + a < n ? sDen[a] : 0.0f;
    }
  }
}

// Which part of the mask a (query tile, key tile) pair is: the key tile wholly
// before the queries, wholly after them, or the same tokens (diagonal).
enum class TileKind { kBelow, kAbove, kDiagonal };

// Masks this warp's 16 rows of the fp32 score tile sS (rows [16 w, 16 w + 16))
// into the operand tile sP (which may alias sS), times `scale`, and adds each
// row's sum to dpart[r] (this lane's columns only; WarpSum finishes them).
// Lane owns columns lane and lane + 32 (no bank conflicts).
//   kBelow / kAbove: M[a, b] = row_factor[a] * col_factor[b] (rank one);
//   kDiagonal: per element from the tile's own prefix sums Gl[0..64]
//     (Gl[t] = G at the tile's first token + t):
//     a > b: exp(Gl[a] - Gl[b]); a < b: exp(Gl[b + 1] - Gl[a + 1]); a == b: 1.
template <typename Op, int kLdP>
__device__ __forceinline__ void MaskWarpRows(const float* sS, Op* sP, TileKind kind,
                                             const float* row_factor, const float* col_factor,
                                             const double* Gl, float scale, float (&dpart)[16]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const int a = 16 * warp + r;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int b = lane + 32 * h;
      const float s = sS[a * kLdS + b];
      float m;
      if (kind == TileKind::kDiagonal) {
        m = a > b   ? ExpNonPositive(static_cast<float>(Gl[a] - Gl[b]))
            : a < b ? ExpNonPositive(static_cast<float>(Gl[b + 1] - Gl[a + 1]))
                    : 1.0f;
      } else {
        m = row_factor[a] * col_factor[b];
      }
      const float p = scale * s * m;
      dpart[r] += p;
      sP[a * kLdP + b] = FromFloat<Op>(p);
    }
  }
}

}  // namespace lion::kernels::cuda

#endif  // LION_KERNELS_CUDA_TILE_ROWS_CUH_
