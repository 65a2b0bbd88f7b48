// The full form (docs/lion-math.md section 2) on the GPU, tiled like
// FlashAttention: one block per (64-query tile, (b, h) row) walks the key tiles
// of its row. For each: S = Q K^T on the tensor cores, the mask applied on
// chip, then [num | den] += P [V | 1]: P V on the tensor cores, den as the row
// sums of P beside it. LION has no softmax, so nothing is rescaled between
// tiles; the L x L scores never leave shared memory (one 64 x 64 tile at a
// time).
//
// The mask comes from G, the double prefix sums of g (prefix_sum.cu). Between
// a query tile [i0, i_end) and a key tile wholly before it the mask is rank
// one with both factors <= 1 (the CPU's mask.h does the same):
//   M[i, j] = exp(G_i - G_i0) * exp(G_i0 - G_j)
// and after it M[i, j] = exp(G_iend - G_{i+1}) * exp(G_{j+1} - G_iend);
// only the diagonal tile takes one exp per element. Every exponent is a
// difference of doubles, cast once it is small, and <= 0.
#include <algorithm>

#include "cuda/forms_cuda.h"
#include "cuda/tile_rows.cuh"

namespace lion::kernels::cuda {
namespace {

struct FullParams {
  const void* q;
  const void* k;
  const void* v;
  const double* prefix;
  const int64_t* lengths;
  int64_t heads, L, row0;
  int dk, dv;
  float scale;
  bool vec_qk, vec_v;
  OutRows out;
};

// Shared-memory layout of one block (byte offsets).
template <typename T>
struct FullSmem {
  using Tr = typename MmaFor<T>::type;
  using Op = typename Tr::Op;
  static constexpr int kLd = Tr::kLd;
  // float32 inputs multiply P straight from the fp32 score tile.
  static constexpr bool kSeparateP = !std::is_same_v<Op, float>;
  static constexpr int kLdP = kSeparateP ? kLd : kLdS;
  static constexpr size_t kQ = 0;
  static constexpr size_t kK = kQ + TileBytes<Op>(kLd);
  static constexpr size_t kV = kK + TileBytes<Op>(kLd);
  static constexpr size_t kS = kV + TileBytes<Op>(kLd);
  static constexpr size_t kP = kS + TileBytes<float>(kLdS);
  static constexpr size_t kGq = kP + (kSeparateP ? TileBytes<Op>(kLd) : 0);
  static constexpr size_t kRowBelow = kGq + Align128(sizeof(double) * (kTile + 1));
  static constexpr size_t kRowAbove = kRowBelow + Align128(sizeof(float) * kTile);
  static constexpr size_t kCol = kRowAbove + Align128(sizeof(float) * kTile);
  static constexpr size_t kDen = kCol + Align128(sizeof(float) * kTile);
  static constexpr size_t kBytes = kDen + Align128(sizeof(float) * kTile);
};

template <typename T>
__global__ void __launch_bounds__(kThreads) FullFormKernel(const FullParams p) {
  using Sm = FullSmem<T>;
  using Tr = typename Sm::Tr;
  using Op = typename Sm::Op;
  extern __shared__ __align__(128) unsigned char smem[];
  Op* sQ = reinterpret_cast<Op*>(smem + Sm::kQ);
  Op* sK = reinterpret_cast<Op*>(smem + Sm::kK);
  Op* sV = reinterpret_cast<Op*>(smem + Sm::kV);
  float* sS = reinterpret_cast<float*>(smem + Sm::kS);
  Op* sP = reinterpret_cast<Op*>(smem + (Sm::kSeparateP ? Sm::kP : Sm::kS));
  double* Gq = reinterpret_cast<double*>(smem + Sm::kGq);
  float* row_below = reinterpret_cast<float*>(smem + Sm::kRowBelow);
  float* row_above = reinterpret_cast<float*>(smem + Sm::kRowAbove);
  float* col = reinterpret_cast<float*>(smem + Sm::kCol);
  float* sDen = reinterpret_cast<float*>(smem + Sm::kDen);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = p.row0 + blockIdx.y, L = p.L;
  const int64_t n = RowLength(p.lengths, row / p.heads, L);
  const int64_t qt = blockIdx.x, i0 = qt * kTile;
  if (i0 >= n) {  // a tile of padding rows: zeros
    WriteOutputRows<T>(p.out, row, L, n, i0, nullptr, nullptr);
    return;
  }
  const T* q = static_cast<const T*>(p.q) + row * L * p.dk;
  const T* k = static_cast<const T*>(p.k) + row * L * p.dk;
  const T* v = static_cast<const T*>(p.v) + row * L * p.dv;
  const double* G = p.prefix + row * (L + 1);
  const int q_rows = static_cast<int>(n - i0 < kTile ? n - i0 : kTile);

  LoadTile(sQ, Sm::kLd, q + i0 * p.dk, q_rows, p.dk, p.vec_qk);
  for (int a = threadIdx.x; a <= kTile; a += blockDim.x) Gq[a] = G[i0 + a < L ? i0 + a : L];
  __syncthreads();
  const double G_end = Gq[q_rows];  // G at i_end = i0 + q_rows
  for (int a = threadIdx.x; a < kTile; a += blockDim.x) {
    row_below[a] = ExpNonPositive(static_cast<float>(Gq[a] - Gq[0]));
    row_above[a] = a < q_rows ? ExpNonPositive(static_cast<float>(G_end - Gq[a + 1])) : 0.0f;
  }

  typename Tr::Acc acc[kHeadDim / 16];
#pragma unroll
  for (int f = 0; f < kHeadDim / 16; ++f) wmma::fill_fragment(acc[f], 0.0f);
  float dpart[16];
#pragma unroll
  for (int r = 0; r < 16; ++r) dpart[r] = 0.0f;

  const int64_t key_tiles = (n + kTile - 1) / kTile;
  for (int64_t kt = 0; kt < key_tiles; ++kt) {
    const int64_t j0 = kt * kTile;
    const int k_rows = static_cast<int>(n - j0 < kTile ? n - j0 : kTile);
    const TileKind kind = kt < qt   ? TileKind::kBelow
                          : kt > qt ? TileKind::kAbove
                                    : TileKind::kDiagonal;
    __syncthreads();  // the previous tile's K, V, P and column factors are no longer read
    LoadTile(sK, Sm::kLd, k + j0 * p.dk, k_rows, p.dk, p.vec_qk);
    LoadTile(sV, Sm::kLd, v + j0 * p.dv, k_rows, p.dv, p.vec_v);
    for (int b = threadIdx.x; b < kTile; b += blockDim.x) {
      float c = 0.0f;
      if (b < k_rows && kind == TileKind::kBelow)
        c = ExpNonPositive(static_cast<float>(Gq[0] - G[j0 + b]));
      if (b < k_rows && kind == TileKind::kAbove)
        c = ExpNonPositive(static_cast<float>(G[j0 + b + 1] - G_end));
      col[b] = c;
    }
    __syncthreads();

    typename Tr::Acc s[kTile / 16];
#pragma unroll
    for (int f = 0; f < kTile / 16; ++f) wmma::fill_fragment(s[f], 0.0f);
    Tr::template Gemm<true, false>(s, sQ + 16 * warp * Sm::kLd, Sm::kLd, sK, Sm::kLd, kHeadDim);
#pragma unroll
    for (int f = 0; f < kTile / 16; ++f) {
      wmma::store_matrix_sync(sS + 16 * warp * kLdS + 16 * f, s[f], kLdS, wmma::mem_row_major);
    }
    __syncwarp();
    MaskWarpRows<Op, Sm::kLdP>(sS, sP, kind, kind == TileKind::kBelow ? row_below : row_above, col,
                               Gq, p.scale, dpart);
    __syncwarp();
    Tr::template Gemm<true, true>(acc, sP + 16 * warp * Sm::kLdP, Sm::kLdP, sV, Sm::kLd, kTile);
  }

#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const float d = WarpSum(dpart[r]);
    if (lane == 0) sDen[16 * warp + r] = d;
  }
  __syncwarp();  // this warp's P reads are done before its rows of sS are reused
#pragma unroll
  for (int f = 0; f < kHeadDim / 16; ++f) {
    wmma::store_matrix_sync(sS + 16 * warp * kLdS + 16 * f, acc[f], kLdS, wmma::mem_row_major);
  }
  __syncthreads();
  WriteOutputRows<T>(p.out, row, L, n, i0, sS, sDen);
}

template <typename T>
absl::Status Launch(const FormArgs& a, const Workspace& ws) {
  const AttentionShape& sh = a.shape;
  constexpr size_t kSmem = FullSmem<T>::kBytes;
  LION_CUDA_RETURN_IF_ERROR(CudaStatus(
      cudaFuncSetAttribute(FullFormKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(kSmem)),
      "full form: shared memory size"));
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  FullParams p{a.q,
               a.k,
               a.v,
               ws.prefix,
               a.lengths,
               sh.heads,
               sh.length,
               0,
               static_cast<int>(sh.dk),
               static_cast<int>(sh.dv),
               a.options.scale,
               sh.dk == kHeadDim && aligned(a.q) && aligned(a.k),
               sh.dv == kHeadDim && aligned(a.v),
               OutRows{a.out.y, a.out.num, a.out.den, static_cast<int>(sh.dv), a.options.eps,
                       a.options.normalize}};
  const int64_t tiles = (sh.length + kTile - 1) / kTile;
  for (int64_t row0 = 0; row0 < sh.Rows(); row0 += kMaxGridRows) {
    p.row0 = row0;
    const dim3 grid(static_cast<unsigned>(tiles),
                    static_cast<unsigned>(std::min<int64_t>(kMaxGridRows, sh.Rows() - row0)));
    FullFormKernel<T><<<grid, kThreads, kSmem, a.stream>>>(p);
    LION_CUDA_RETURN_IF_ERROR(LaunchStatus("full form kernel launch"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LaunchFull(const FormArgs& args, const Workspace& ws) {
  switch (args.dtype) {
    case DType::kFloat32:
      return Launch<float>(args, ws);
    case DType::kBFloat16:
      return Launch<__nv_bfloat16>(args, ws);
    case DType::kFloat16:
      return Launch<__half>(args, ws);
  }
  return absl::InvalidArgumentError("unknown dtype");
}

}  // namespace lion::kernels::cuda
