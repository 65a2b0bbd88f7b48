// Shared pieces of the CUDA forms: error checks, element types, the tile
// loader and the warp-level matrix products on shared-memory tiles. Internal
// to kernels/cuda.
//
// Tiles are 64 tokens x 64 features (kTile x kHeadDim), operands stored in
// shared memory in the input's 16-bit type (bf16 or fp16 tensor cores,
// m16n16k16) or as float32 for float32 inputs, multiplied as three TF32
// products (hi*hi + hi*lo + lo*hi with x = hi + lo), which keeps float32
// accuracy (about 2^-22 relative per product) on the tensor cores.
// Accumulators are float32 in every case.
#ifndef LION_KERNELS_CUDA_CUDA_COMMON_CUH_
#define LION_KERNELS_CUDA_CUDA_COMMON_CUH_

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lion::kernels::cuda {

namespace wmma = nvcuda::wmma;

inline constexpr int kTile = 64;      // tokens per tile (and the chunk form's chunk)
inline constexpr int kHeadDim = 64;   // features per tile (dk, dv zero-padded up to it)
inline constexpr int kThreads = 128;  // 4 warps; warp w owns tile rows [16w, 16w + 16)
inline constexpr int kWarps = kThreads / 32;
inline constexpr int kLdS = kHeadDim + 4;  // float32 tiles' row stride (bank spread)

// OK, or INTERNAL naming `what` and CUDA's message. Clears the sticky error.
inline absl::Status CudaStatus(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return absl::OkStatus();
  cudaGetLastError();
  return absl::InternalError(absl::StrCat("CUDA ", what, ": ", cudaGetErrorString(err)));
}
// After a <<<...>>> launch: launch-configuration errors show up here.
inline absl::Status LaunchStatus(const char* kernel) {
  return CudaStatus(cudaGetLastError(), kernel);
}

#define LION_CUDA_RETURN_IF_ERROR(expr)          \
  do {                                           \
    const absl::Status _lion_status = (expr);    \
    if (!_lion_status.ok()) return _lion_status; \
  } while (false)

// ---- element conversions ---------------------------------------------------
__device__ __forceinline__ float ToFloat(float x) { return x; }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float ToFloat(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T FromFloat(float x);
template <>
__device__ __forceinline__ float FromFloat<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}
template <>
__device__ __forceinline__ __half FromFloat<__half>(float x) {
  return __float2half(x);
}

// exp(x) for the mask's exponents, which are <= 0 by construction (partial
// sums of non-positive log-decays); a positive x (invalid g) counts as 0, as
// on the CPU, so nothing can overflow.
__device__ __forceinline__ float ExpNonPositive(float x) { return __expf(fminf(x, 0.0f)); }

// ---- matrix products on shared-memory tiles --------------------------------
// Tr::Gemm<kRowA, kRowB, NF>(acc, a, lda, b, ldb, K): for f < NF,
//   acc[f] += A (16 x K) * B (K x 16) at columns [16 f, 16 f + 16) of B,
// with A(m, k) = kRowA ? a[m * lda + k] : a[k * lda + m] and
//      B(k, n) = kRowB ? b[k * ldb + n] : b[n * ldb + k].
// Pointers must be 32-byte aligned; lda, ldb multiples of 8 (16-bit) or 4.
template <typename T>
struct Mma16 {
  using Op = T;
  static constexpr int kK = 16;
  static constexpr int kLd = kHeadDim + 8;  // operand tiles' row stride
  using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
  template <bool kRow>
  using Layout = std::conditional_t<kRow, wmma::row_major, wmma::col_major>;

  template <bool kRowA, bool kRowB, int NF>
  __device__ static void Gemm(Acc (&acc)[NF], const Op* a, int lda, const Op* b, int ldb, int K) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, Op, Layout<kRowA>> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, Op, Layout<kRowB>> fb;
    for (int k0 = 0; k0 < K; k0 += kK) {
      wmma::load_matrix_sync(fa, kRowA ? a + k0 : a + k0 * lda, lda);
#pragma unroll
      for (int f = 0; f < NF; ++f) {
        wmma::load_matrix_sync(fb, kRowB ? b + k0 * ldb + 16 * f : b + 16 * f * ldb + k0, ldb);
        wmma::mma_sync(acc[f], fa, fb, acc[f]);
      }
    }
  }
};

struct MmaTf32x3 {
  using Op = float;
  static constexpr int kK = 8;
  static constexpr int kLd = kLdS;
  using Acc = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
  template <bool kRow>
  using Layout = std::conditional_t<kRow, wmma::row_major, wmma::col_major>;

  template <typename Frag>
  __device__ static void Split(Frag& hi, Frag& lo) {
#pragma unroll
    for (int i = 0; i < hi.num_elements; ++i) {
      const float x = hi.x[i];
      const float h = wmma::__float_to_tf32(x);
      hi.x[i] = h;
      lo.x[i] = wmma::__float_to_tf32(x - h);
    }
  }

  template <bool kRowA, bool kRowB, int NF>
  __device__ static void Gemm(Acc (&acc)[NF], const Op* a, int lda, const Op* b, int ldb, int K) {
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, Layout<kRowA>> a_hi, a_lo;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, Layout<kRowB>> b_hi, b_lo;
    for (int k0 = 0; k0 < K; k0 += kK) {
      wmma::load_matrix_sync(a_hi, kRowA ? a + k0 : a + k0 * lda, lda);
      Split(a_hi, a_lo);
#pragma unroll
      for (int f = 0; f < NF; ++f) {
        wmma::load_matrix_sync(b_hi, kRowB ? b + k0 * ldb + 16 * f : b + 16 * f * ldb + k0, ldb);
        Split(b_hi, b_lo);
        // Small terms first: they would vanish against the large one.
        wmma::mma_sync(acc[f], a_lo, b_hi, acc[f]);
        wmma::mma_sync(acc[f], a_hi, b_lo, acc[f]);
        wmma::mma_sync(acc[f], a_hi, b_hi, acc[f]);
      }
    }
  }
};

template <typename T>
struct MmaFor {
  using type = Mma16<T>;
};
template <>
struct MmaFor<float> {
  using type = MmaTf32x3;
};

// ---- tiles ----------------------------------------------------------------
// Rounds shared-memory regions to 128 bytes so every tile pointer is aligned
// for the matrix loads (which need 32 bytes).
__host__ __device__ constexpr size_t Align128(size_t bytes) { return (bytes + 127) / 128 * 128; }

// Bytes of a 64-row tile of `Op` with row stride ld.
template <typename Op>
__host__ __device__ constexpr size_t TileBytes(int ld) {
  return Align128(sizeof(Op) * kTile * ld);
}

// dst [64][ld] <- rows [0, 64) of src (row stride `width`): rows >= rows_valid
// and columns >= width are 0. `vec`: width == 64 and src 16-byte aligned,
// so rows move as 16-byte vectors. Every thread of the block takes part.
template <typename T>
__device__ void LoadTile(T* dst, int ld, const T* src, int rows_valid, int width, bool vec) {
  if (vec) {
    constexpr int kPerRow = kHeadDim * sizeof(T) / 16;
    for (int idx = threadIdx.x; idx < kTile * kPerRow; idx += blockDim.x) {
      const int r = idx / kPerRow, c = idx % kPerRow;
      uint4 val = make_uint4(0, 0, 0, 0);
      if (r < rows_valid)
        val = reinterpret_cast<const uint4*>(src + static_cast<int64_t>(r) * kHeadDim)[c];
      reinterpret_cast<uint4*>(dst + r * ld)[c] = val;
    }
    return;
  }
  for (int idx = threadIdx.x; idx < kTile * kHeadDim; idx += blockDim.x) {
    const int r = idx / kHeadDim, c = idx % kHeadDim;
    T val = FromFloat<T>(0.0f);
    if (r < rows_valid && c < width) val = src[static_cast<int64_t>(r) * width + c];
    dst[r * ld + c] = val;
  }
}

__host__ __device__ __forceinline__ int64_t Min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Sum over the 32 lanes of a warp, returned to every lane.
__device__ __forceinline__ float WarpSum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// The length of sequence b, clamped to [0, L].
__device__ __forceinline__ int64_t RowLength(const int64_t* lengths, int64_t b, int64_t L) {
  if (lengths == nullptr) return L;
  const int64_t n = lengths[b];
  return n < 0 ? 0 : (n > L ? L : n);
}

}  // namespace lion::kernels::cuda

#endif  // LION_KERNELS_CUDA_CUDA_COMMON_CUH_
