// The chunk form's carries (docs/lion-math.md section 4.1), in two launches:
//  1. one block per (segment, row) walks the segment's chunks right to left.
//     Before each chunk it stores the backward carry gathered so far (from
//     the chunks to its right, inside the segment), then folds the chunk in:
//       TB <- exp(P_n) TB + sum_b exp(P_{b+1}) k_b [v_b | 1]^T
//     It also sums the chunks' forward contributions decayed to the segment's
//     end, sum_b exp(G_E - G_b) k_b [v_b | 1]^T, and stores both totals.
//  2. a scan over each row's segments (both directions, one thread per carry
//     element) turns the totals into the carries entering each segment.
// Every weight is exp of a difference of the double prefix sums, <= 0.
#include <algorithm>

#include "cuda/chunk_state.cuh"

namespace lion::kernels::cuda {
namespace {

template <typename T>
struct SummarySmem {
  using Tr = typename MmaFor<T>::type;
  using Op = typename Tr::Op;
  static constexpr int kLd = Tr::kLd;
  static constexpr size_t kK = 0;
  static constexpr size_t kV = kK + TileBytes<Op>(kLd);
  static constexpr size_t kW = kV + TileBytes<Op>(kLd);
  static constexpr size_t kF = kW + TileBytes<Op>(kLd);
  static constexpr size_t kB = kF + TileBytes<float>(kLdS);
  static constexpr size_t kZF = kB + TileBytes<float>(kLdS);
  static constexpr size_t kZB = kZF + Align128(sizeof(float) * kHeadDim);
  static constexpr size_t kGc = kZB + Align128(sizeof(float) * kHeadDim);
  static constexpr size_t kWB = kGc + Align128(sizeof(double) * (kTile + 1));
  static constexpr size_t kWF = kWB + Align128(sizeof(float) * kTile);
  static constexpr size_t kBytes = kWF + Align128(sizeof(float) * kTile);
};

template <typename T>
__global__ void __launch_bounds__(kThreads) ChunkSummaryKernel(const ChunkParams p) {
  using Sm = SummarySmem<T>;
  using Tr = typename Sm::Tr;
  using Op = typename Sm::Op;
  extern __shared__ __align__(128) unsigned char smem[];
  Op* sK = reinterpret_cast<Op*>(smem + Sm::kK);
  Op* sV = reinterpret_cast<Op*>(smem + Sm::kV);
  Op* sW = reinterpret_cast<Op*>(smem + Sm::kW);
  float* sF = reinterpret_cast<float*>(smem + Sm::kF);
  float* sB = reinterpret_cast<float*>(smem + Sm::kB);
  float* zF = reinterpret_cast<float*>(smem + Sm::kZF);
  float* zB = reinterpret_cast<float*>(smem + Sm::kZB);
  double* Gc = reinterpret_cast<double*>(smem + Sm::kGc);
  float* wB = reinterpret_cast<float*>(smem + Sm::kWB);
  float* wF = reinterpret_cast<float*>(smem + Sm::kWF);

  const int64_t row = p.row0 + blockIdx.y, seg = blockIdx.x, L = p.L;
  const int64_t n = RowLength(p.lengths, row / p.heads, L);
  const int64_t c_begin = seg * p.per_segment;
  const int64_t c_end = Min64(c_begin + p.per_segment, p.chunks);
  const double* G = p.prefix + row * (L + 1);
  const double G_E = G[Min64(c_end * kTile, L)];
  const T* k = static_cast<const T*>(p.k) + row * L * p.dk;
  const T* v = static_cast<const T*>(p.v) + row * L * p.dv;
  ZeroCarry(sF, zF);
  ZeroCarry(sB, zB);
  // Chunks that start at or past the length hold only padding: skipped.
  const int64_t c_last = Min64(c_end, (n + kTile - 1) / kTile) - 1;
  for (int64_t c = c_last; c >= c_begin; --c) {
    const int64_t s_c = c * kTile;
    const int rows = static_cast<int>(Min64(kTile, n - s_c));
    __syncthreads();  // the last update of sB is complete; sK, sV, sW are free
    if (p.store_local) StoreCarry(p.local + (row * p.chunks + c) * kCarryFloats, sB, zB);
    LoadTile(sK, Sm::kLd, k + s_c * p.dk, rows, p.dk, p.vec_qk);
    LoadTile(sV, Sm::kLd, v + s_c * p.dv, rows, p.dv, p.vec_v);
    for (int a = threadIdx.x; a <= kTile; a += blockDim.x) Gc[a] = G[Min64(s_c + a, L)];
    __syncthreads();
    for (int b = threadIdx.x; b < kTile; b += blockDim.x) {
      wB[b] = ExpNonPositive(static_cast<float>(Gc[b + 1] - Gc[0]));
      wF[b] = ExpNonPositive(static_cast<float>(G_E - Gc[b]));
    }
    const float decay = ExpNonPositive(static_cast<float>(Gc[kTile] - Gc[0]));
    __syncthreads();
    WeightRows<Op, Sm::kLd>(sW, sK, wB);
    __syncthreads();
    UpdateCarry<Tr>(sB, zB, decay, sW, sV);
    __syncthreads();
    WeightRows<Op, Sm::kLd>(sW, sK, wF);
    __syncthreads();
    UpdateCarry<Tr>(sF, zF, 1.0f, sW, sV);
  }
  __syncthreads();
  StoreCarry(p.seg_f + (row * p.segments + seg) * kCarryFloats, sF, zF);
  StoreCarry(p.seg_b + (row * p.segments + seg) * kCarryFloats, sB, zB);
}

constexpr int kScanThreads = 256;

// blockIdx.z: 0 forward (left to right), 1 backward. In place: the total of
// segment s becomes the carry entering it,
//   carry_{s+1} = exp(G[E_s] - G[S_s]) carry_s + total_s   (forward; mirrored backward).
__global__ void __launch_bounds__(kScanThreads) SegmentScanKernel(const ChunkParams p) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * kScanThreads + threadIdx.x;
  if (e >= kCarryFloats) return;
  const int64_t row = p.row0 + blockIdx.y, L = p.L;
  const bool forward = blockIdx.z == 0;
  const double* G = p.prefix + row * (L + 1);
  float* base = (forward ? p.seg_f : p.seg_b) + row * p.segments * kCarryFloats + e;
  const int64_t span = p.per_segment * kTile;
  float run = 0.0f;
  for (int64_t i = 0; i < p.segments; ++i) {
    const int64_t s = forward ? i : p.segments - 1 - i;
    const double decay_log = G[Min64((s + 1) * span, L)] - G[s * span];
    float* at = base + s * kCarryFloats;
    const float total = *at;
    *at = run;
    run = ExpNonPositive(static_cast<float>(decay_log)) * run + total;
  }
}

template <typename T>
absl::Status Launch(const FormArgs& a, const ChunkParams& params) {
  constexpr size_t kSmem = SummarySmem<T>::kBytes;
  LION_CUDA_RETURN_IF_ERROR(CudaStatus(
      cudaFuncSetAttribute(ChunkSummaryKernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                           static_cast<int>(kSmem)),
      "chunk form carries: shared memory size"));
  const int64_t R = a.shape.Rows();
  for (int64_t row0 = 0; row0 < R; row0 += kMaxGridRows) {
    ChunkParams p = params;
    p.row0 = row0;
    const unsigned rows = static_cast<unsigned>(std::min<int64_t>(kMaxGridRows, R - row0));
    ChunkSummaryKernel<T>
        <<<dim3(static_cast<unsigned>(p.segments), rows), kThreads, kSmem, a.stream>>>(p);
    LION_CUDA_RETURN_IF_ERROR(LaunchStatus("chunk form carry kernel launch"));
    const unsigned blocks = static_cast<unsigned>((kCarryFloats + kScanThreads - 1) / kScanThreads);
    SegmentScanKernel<<<dim3(blocks, rows, 2), kScanThreads, 0, a.stream>>>(p);
    LION_CUDA_RETURN_IF_ERROR(LaunchStatus("chunk form segment scan launch"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LaunchChunkCarries(const FormArgs& args, const ChunkParams& params) {
  switch (args.dtype) {
    case DType::kFloat32:
      return Launch<float>(args, params);
    case DType::kBFloat16:
      return Launch<__nv_bfloat16>(args, params);
    case DType::kFloat16:
      return Launch<__half>(args, params);
  }
  return absl::InvalidArgumentError("unknown dtype");
}

}  // namespace lion::kernels::cuda
