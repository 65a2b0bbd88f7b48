// Exclusive prefix sums of the log-decays in double, one block per (b, h) row:
// G[0] = 0, G[t + 1] = G[t] + g[t], with g read as 0 at or past the row's
// length (padded tokens take no part). The full and chunk forms form every mask
// exponent as a difference of these doubles, so long rows lose nothing to
// cancellation (docs/lion-math.md section 6: a float32 cumulative sum loses
// about 3e-6 relative by L = 50, and more as L grows).
#include "cuda/cuda_common.cuh"
#include "cuda/forms_cuda.h"

namespace lion::kernels::cuda {
namespace {

constexpr int kPrefixThreads = 256;
constexpr int kItems = 4;  // consecutive tokens per thread per step

__global__ void __launch_bounds__(kPrefixThreads)
    PrefixKernel(const float* __restrict__ g, const int64_t* __restrict__ lengths, int64_t heads,
                 int64_t L, double* __restrict__ prefix) {
  __shared__ double warp_total[kPrefixThreads / 32];
  const int64_t row = blockIdx.x;
  const int64_t n = RowLength(lengths, row / heads, L);
  const float* gr = g + row * L;
  double* G = prefix + row * (L + 1);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) G[0] = 0.0;
  double carry = 0.0;
  for (int64_t base = 0; base < L; base += kPrefixThreads * kItems) {
    double inclusive[kItems];
    double local = 0.0;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const int64_t t = base + threadIdx.x * kItems + i;
      local += t < n ? static_cast<double>(gr[t]) : 0.0;
      inclusive[i] = local;
    }
    double scan = local;  // inclusive scan of the threads' totals within the warp
#pragma unroll
    for (int offset = 1; offset < 32; offset <<= 1) {
      const double other = __shfl_up_sync(0xffffffffu, scan, offset);
      if (lane >= offset) scan += other;
    }
    if (lane == 31) warp_total[warp] = scan;
    __syncthreads();
    double before = carry + scan - local, step_total = 0.0;
    for (int w = 0; w < kPrefixThreads / 32; ++w) {
      if (w < warp) before += warp_total[w];
      step_total += warp_total[w];
    }
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const int64_t t = base + threadIdx.x * kItems + i;
      if (t < L) G[t + 1] = before + inclusive[i];
    }
    carry += step_total;
    __syncthreads();  // warp_total is rewritten by the next step
  }
}

}  // namespace

absl::Status LaunchPrefix(const FormArgs& a, double* prefix) {
  const int64_t rows = a.shape.Rows();
  if (rows == 0) return absl::OkStatus();
  PrefixKernel<<<static_cast<unsigned>(rows), kPrefixThreads, 0, a.stream>>>(
      a.g, a.lengths, a.shape.heads, a.shape.length, prefix);
  return LaunchStatus("prefix sums kernel launch");
}

}  // namespace lion::kernels::cuda
