// The chunk form's outputs (docs/lion-math.md section 4.1): one block per
// (segment, row) walks the segment's chunks left to right with the forward
// carry TF on chip (starting from the carry entering the segment). For chunk
// [s, s + n):
//   [num | den] = c (Q K^T o Mloc) [V | 1]                  intra-chunk block
//               + c e^{P_a} q_a^T [TF | zF]                 forward read
//               + c e^{P_n - P_{a+1}} q_a^T [TB | zB]       backward read
// with TB = (inner backward carry) + exp(G_E - G_e) (carry entering the
// segment from the right), then TF <- e^{P_n} TF + sum_b e^{P_n - P_b} k_b [v_b | 1]^T.
// The three products run on the tensor cores; den is the row sums beside.
// The carries come from chunk_carries.cu.
#include <algorithm>

#include "cuda/chunk_state.cuh"

namespace lion::kernels::cuda {
namespace {

template <typename T>
struct OutputSmem {
  using Tr = typename MmaFor<T>::type;
  using Op = typename Tr::Op;
  static constexpr int kLd = Tr::kLd;
  // float32 inputs use the float32 tiles as operands directly.
  static constexpr bool kSeparate = !std::is_same_v<Op, float>;
  static constexpr int kLdP = kSeparate ? kLd : kLdS;
  static constexpr size_t kQ = 0;
  static constexpr size_t kK = kQ + TileBytes<Op>(kLd);
  static constexpr size_t kV = kK + TileBytes<Op>(kLd);
  static constexpr size_t kW = kV + TileBytes<Op>(kLd);
  static constexpr size_t kTB = kW + TileBytes<Op>(kLd);
  static constexpr size_t kP = kTB + TileBytes<Op>(kLd);
  static constexpr size_t kTFo = kP + (kSeparate ? TileBytes<Op>(kLd) : 0);
  static constexpr size_t kS = kTFo + (kSeparate ? TileBytes<Op>(kLd) : 0);
  static constexpr size_t kTF = kS + TileBytes<float>(kLdS);
  static constexpr size_t kTBseg = kTF + TileBytes<float>(kLdS);
  static constexpr size_t kZF = kTBseg + TileBytes<float>(kLdS);
  static constexpr size_t kZBseg = kZF + Align128(sizeof(float) * kHeadDim);
  static constexpr size_t kZB = kZBseg + Align128(sizeof(float) * kHeadDim);
  static constexpr size_t kGc = kZB + Align128(sizeof(float) * kHeadDim);
  static constexpr size_t kRowF = kGc + Align128(sizeof(double) * (kTile + 1));
  static constexpr size_t kRowB = kRowF + Align128(sizeof(float) * kTile);
  static constexpr size_t kWu = kRowB + Align128(sizeof(float) * kTile);
  static constexpr size_t kDen = kWu + Align128(sizeof(float) * kTile);
  static constexpr size_t kBytes = kDen + Align128(sizeof(float) * kTile);
};

// This warp's rows of sW = w[a] * sQ[a, :], and dpart[r] += (this lane's
// features of) sW[a, :] . z: the carry read's share of the row sums.
template <typename Op, int kLd>
__device__ __forceinline__ void WeightQueries(Op* sW, const Op* sQ, const float* w, const float* z,
                                              float (&dpart)[16]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    const int a = 16 * warp + r;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int d = lane + 32 * h;
      const float x = w[a] * ToFloat(sQ[a * kLd + d]);
      sW[a * kLd + d] = FromFloat<Op>(x);
      dpart[r] += x * z[d];
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads) ChunkOutputKernel(const ChunkParams p) {
  using Sm = OutputSmem<T>;
  using Tr = typename Sm::Tr;
  using Op = typename Sm::Op;
  extern __shared__ __align__(128) unsigned char smem[];
  Op* sQ = reinterpret_cast<Op*>(smem + Sm::kQ);
  Op* sK = reinterpret_cast<Op*>(smem + Sm::kK);
  Op* sV = reinterpret_cast<Op*>(smem + Sm::kV);
  Op* sW = reinterpret_cast<Op*>(smem + Sm::kW);
  Op* sTB = reinterpret_cast<Op*>(smem + Sm::kTB);
  float* sS = reinterpret_cast<float*>(smem + Sm::kS);
  Op* sP = reinterpret_cast<Op*>(smem + (Sm::kSeparate ? Sm::kP : Sm::kS));
  float* sTF = reinterpret_cast<float*>(smem + Sm::kTF);
  Op* sTFo = reinterpret_cast<Op*>(smem + (Sm::kSeparate ? Sm::kTFo : Sm::kTF));
  float* sTBseg = reinterpret_cast<float*>(smem + Sm::kTBseg);
  float* zF = reinterpret_cast<float*>(smem + Sm::kZF);
  float* zBseg = reinterpret_cast<float*>(smem + Sm::kZBseg);
  float* zB = reinterpret_cast<float*>(smem + Sm::kZB);
  double* Gc = reinterpret_cast<double*>(smem + Sm::kGc);
  float* row_f = reinterpret_cast<float*>(smem + Sm::kRowF);
  float* row_b = reinterpret_cast<float*>(smem + Sm::kRowB);
  float* wu = reinterpret_cast<float*>(smem + Sm::kWu);
  float* sDen = reinterpret_cast<float*>(smem + Sm::kDen);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t row = p.row0 + blockIdx.y, seg = blockIdx.x, L = p.L;
  const int64_t n = RowLength(p.lengths, row / p.heads, L);
  const int64_t c_begin = seg * p.per_segment;
  const int64_t c_end = Min64(c_begin + p.per_segment, p.chunks);
  const T* q = static_cast<const T*>(p.q) + row * L * p.dk;
  const T* k = static_cast<const T*>(p.k) + row * L * p.dk;
  const T* v = static_cast<const T*>(p.v) + row * L * p.dv;
  const double* G = p.prefix + row * (L + 1);
  const double G_E = G[Min64(c_end * kTile, L)];
  if (c_begin * kTile < n) {
    LoadCarry(sTF, zF, p.seg_f + (row * p.segments + seg) * kCarryFloats);
    LoadCarry(sTBseg, zBseg, p.seg_b + (row * p.segments + seg) * kCarryFloats);
  }
  for (int64_t c = c_begin; c < c_end; ++c) {
    const int64_t s_c = c * kTile;
    if (s_c >= n) {  // padding only (uniform over the block): zeros
      WriteOutputRows<T>(p.out, row, L, n, s_c, nullptr, nullptr);
      continue;
    }
    const int rows = static_cast<int>(Min64(kTile, n - s_c));
    __syncthreads();  // every tile of the previous chunk is free
    LoadTile(sQ, Sm::kLd, q + s_c * p.dk, rows, p.dk, p.vec_qk);
    LoadTile(sK, Sm::kLd, k + s_c * p.dk, rows, p.dk, p.vec_qk);
    LoadTile(sV, Sm::kLd, v + s_c * p.dv, rows, p.dv, p.vec_v);
    for (int a = threadIdx.x; a <= kTile; a += blockDim.x) Gc[a] = G[Min64(s_c + a, L)];
    __syncthreads();
    // The backward carry into this chunk, as an operand tile.
    const float f_b = ExpNonPositive(static_cast<float>(G_E - Gc[kTile]));
    const float* inner = p.store_local ? p.local + (row * p.chunks + c) * kCarryFloats : nullptr;
    for (int idx = threadIdx.x; idx < kHeadDim * kHeadDim; idx += blockDim.x) {
      const int r = idx / kHeadDim, e = idx % kHeadDim;
      const float x = f_b * sTBseg[r * kLdS + e] + (inner ? inner[idx] : 0.0f);
      sTB[r * Sm::kLd + e] = FromFloat<Op>(x);
      if constexpr (Sm::kSeparate) sTFo[r * Sm::kLd + e] = FromFloat<Op>(sTF[r * kLdS + e]);
    }
    for (int t = threadIdx.x; t < kHeadDim; t += blockDim.x) {
      zB[t] = f_b * zBseg[t] + (inner ? inner[kHeadDim * kHeadDim + t] : 0.0f);
    }
    for (int a = threadIdx.x; a < kTile; a += blockDim.x) {
      row_f[a] = p.scale * ExpNonPositive(static_cast<float>(Gc[a] - Gc[0]));
      row_b[a] = p.scale * ExpNonPositive(static_cast<float>(Gc[kTile] - Gc[a + 1]));
      wu[a] = ExpNonPositive(static_cast<float>(Gc[kTile] - Gc[a]));
    }
    __syncthreads();

    // Intra-chunk block: this warp's 16 query rows against the chunk's keys.
    typename Tr::Acc acc[kHeadDim / 16];
#pragma unroll
    for (int f = 0; f < kHeadDim / 16; ++f) wmma::fill_fragment(acc[f], 0.0f);
    Tr::template Gemm<true, false>(acc, sQ + 16 * warp * Sm::kLd, Sm::kLd, sK, Sm::kLd, kHeadDim);
#pragma unroll
    for (int f = 0; f < kTile / 16; ++f) {
      wmma::store_matrix_sync(sS + 16 * warp * kLdS + 16 * f, acc[f], kLdS, wmma::mem_row_major);
      wmma::fill_fragment(acc[f], 0.0f);
    }
    __syncwarp();
    float dpart[16];
#pragma unroll
    for (int r = 0; r < 16; ++r) dpart[r] = 0.0f;
    MaskWarpRows<Op, Sm::kLdP>(sS, sP, TileKind::kDiagonal, nullptr, nullptr, Gc, p.scale, dpart);
    __syncwarp();
    Tr::template Gemm<true, true>(acc, sP + 16 * warp * Sm::kLdP, Sm::kLdP, sV, Sm::kLd, kTile);
    // Carry reads, forward then backward, through this warp's rows of sW.
    WeightQueries<Op, Sm::kLd>(sW, sQ, row_f, zF, dpart);
    __syncwarp();
    Tr::template Gemm<true, true>(acc, sW + 16 * warp * Sm::kLd, Sm::kLd, sTFo,
                                  Sm::kSeparate ? Sm::kLd : kLdS, kHeadDim);
    __syncwarp();
    WeightQueries<Op, Sm::kLd>(sW, sQ, row_b, zB, dpart);
    __syncwarp();
    Tr::template Gemm<true, true>(acc, sW + 16 * warp * Sm::kLd, Sm::kLd, sTB, Sm::kLd, kHeadDim);
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const float d = WarpSum(dpart[r]);
      if (lane == 0) sDen[16 * warp + r] = d;
    }
    __syncwarp();
#pragma unroll
    for (int f = 0; f < kHeadDim / 16; ++f) {
      wmma::store_matrix_sync(sS + 16 * warp * kLdS + 16 * f, acc[f], kLdS, wmma::mem_row_major);
    }
    __syncthreads();
    WriteOutputRows<T>(p.out, row, L, n, s_c, sS, sDen);

    // TF <- e^{P_n} TF + sum_b e^{P_n - P_b} k_b [v_b | 1]^T for the next chunk.
    WeightRows<Op, Sm::kLd>(sW, sK, wu);
    __syncthreads();
    UpdateCarry<Tr>(sTF, zF, ExpNonPositive(static_cast<float>(Gc[kTile] - Gc[0])), sW, sV);
  }
}

template <typename T>
absl::Status Launch(const FormArgs& a, const ChunkParams& params) {
  constexpr size_t kSmem = OutputSmem<T>::kBytes;
  LION_CUDA_RETURN_IF_ERROR(CudaStatus(
      cudaFuncSetAttribute(ChunkOutputKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(kSmem)),
      "chunk form outputs: shared memory size"));
  const int64_t R = a.shape.Rows();
  for (int64_t row0 = 0; row0 < R; row0 += kMaxGridRows) {
    ChunkParams p = params;
    p.row0 = row0;
    const unsigned rows = static_cast<unsigned>(std::min<int64_t>(kMaxGridRows, R - row0));
    ChunkOutputKernel<T>
        <<<dim3(static_cast<unsigned>(p.segments), rows), kThreads, kSmem, a.stream>>>(p);
    LION_CUDA_RETURN_IF_ERROR(LaunchStatus("chunk form output kernel launch"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LaunchChunk(const FormArgs& a, const Workspace& ws) {
  const AttentionShape& sh = a.shape;
  const ChunkPlan plan = PlanChunks(sh.Rows(), sh.length);
  if (plan.segments == 0 || sh.Rows() == 0) return absl::OkStatus();
  auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  ChunkParams p{a.q,
                a.k,
                a.v,
                ws.prefix,
                a.lengths,
                ws.local,
                ws.seg_f,
                ws.seg_b,
                sh.heads,
                sh.length,
                0,
                plan.chunks,
                plan.per_segment,
                plan.segments,
                static_cast<int>(sh.dk),
                static_cast<int>(sh.dv),
                a.options.scale,
                sh.dk == kHeadDim && aligned(a.q) && aligned(a.k),
                sh.dv == kHeadDim && aligned(a.v),
                plan.per_segment > 1,
                OutRows{a.out.y, a.out.num, a.out.den, static_cast<int>(sh.dv), a.options.eps,
                        a.options.normalize}};
  LION_CUDA_RETURN_IF_ERROR(LaunchChunkCarries(a, p));
  switch (a.dtype) {
    case DType::kFloat32:
      return Launch<float>(a, p);
    case DType::kBFloat16:
      return Launch<__nv_bfloat16>(a, p);
    case DType::kFloat16:
      return Launch<__half>(a, p);
  }
  return absl::InvalidArgumentError("unknown dtype");
}

}  // namespace lion::kernels::cuda
