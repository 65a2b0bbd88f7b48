// The bidirectional RNN form (docs/lion-math.md section 3). One thread block
// per (row, direction); thread j < dv owns column j of the dk x dv state S in
// registers, thread dv owns the normaliser z (the "ones" column of [V | 1]).
// Per token: S[:, j] = a S[:, j] + k v_j, y_j = q . S[:, j] - (q . k) v_j / 2.
// Tiles of kRnnTile tokens of q and k (as float32) and q . k are staged in
// shared memory. The two directions add into zero-initialised float32 outputs
// with atomicAdd (two addends per element: the sum does not depend on their
// order). A last kernel divides and converts when finished rows are wanted.
#include <algorithm>

#include "cuda/cuda_common.cuh"
#include "cuda/forms_cuda.h"

namespace lion::kernels::cuda {
namespace {

constexpr int kRnnTile = 32;

template <typename T, int kDk>
__global__ void RnnScanKernel(const T* __restrict__ q, const T* __restrict__ k,
                              const T* __restrict__ v, const float* __restrict__ g,
                              const int64_t* __restrict__ lengths, int64_t heads, int64_t L, int dk,
                              int dv, float scale, float* __restrict__ num,
                              float* __restrict__ den) {
  const int64_t row = blockIdx.x;
  const bool forward = blockIdx.y == 0;
  const int j = threadIdx.x;  // column: j < dv value, j == dv normaliser
  const int64_t n = RowLength(lengths, row / heads, L);
  const T* qr = q + row * L * dk;
  const T* kr = k + row * L * dk;
  const T* vr = v + row * L * dv;
  const float* gr = g + row * L;
  __shared__ float sq[kRnnTile][kDk];
  __shared__ float sk[kRnnTile][kDk];
  __shared__ float sa[kRnnTile];
  __shared__ float sqk[kRnnTile];
  float s[kDk];
#pragma unroll
  for (int r = 0; r < kDk; ++r) s[r] = 0.0f;

  for (int64_t t0 = 0; t0 < n; t0 += kRnnTile) {
    const int tile = n - t0 < kRnnTile ? static_cast<int>(n - t0) : kRnnTile;
    __syncthreads();
    for (int idx = threadIdx.x; idx < tile * dk; idx += blockDim.x) {
      const int t = idx / dk, r = idx % dk;
      const int64_t i = forward ? t0 + t : n - 1 - (t0 + t);
      sq[t][r] = ToFloat(qr[i * dk + r]);
      sk[t][r] = ToFloat(kr[i * dk + r]);
    }
    for (int t = threadIdx.x; t < tile; t += blockDim.x) {
      const int64_t step = t0 + t;
      const int64_t i = forward ? step : n - 1 - step;
      // The forward state decays by the decay of the token it just left,
      // the backward one by the token's right neighbour (key convention).
      sa[t] = step == 0 ? 0.0f : ExpNonPositive(gr[forward ? i - 1 : i + 1]);
    }
    __syncthreads();
    for (int t = threadIdx.x; t < tile; t += blockDim.x) {
      float qk = 0.0f;
      for (int r = 0; r < dk; ++r) qk += sq[t][r] * sk[t][r];
      sqk[t] = qk;
    }
    __syncthreads();
    if (j > dv) continue;
    for (int t = 0; t < tile; ++t) {
      const int64_t i = forward ? t0 + t : n - 1 - (t0 + t);
      const float val = j < dv ? ToFloat(vr[i * dv + j]) : 1.0f;
      const float a = sa[t];
      float y = 0.0f;
#pragma unroll
      for (int r = 0; r < kDk; ++r) {
        if (r < dk) {
          s[r] = a * s[r] + sk[t][r] * val;
          y += sq[t][r] * s[r];
        }
      }
      y = scale * (y - 0.5f * sqk[t] * val);
      if (j < dv) {
        atomicAdd(num + (row * L + i) * dv + j, y);
      } else if (den != nullptr) {
        atomicAdd(den + row * L + i, y);
      }
    }
  }
}

// y = num / (den + eps) (or num) in T; rows at or past the length are 0.
template <typename T>
__global__ void FinishKernel(const float* __restrict__ num, const float* __restrict__ den,
                             const int64_t* __restrict__ lengths, int64_t heads, int64_t L, int dv,
                             float eps, bool normalize, int64_t total, T* __restrict__ y) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t token = idx / dv, row = token / L, i = token % L;
  float val = 0.0f;
  if (i < RowLength(lengths, row / heads, L)) {
    val = num[idx];
    if (normalize) val /= den[token] + eps;
  }
  y[idx] = FromFloat<T>(val);
}

template <typename T>
absl::Status Launch(const FormArgs& a, const Workspace& ws) {
  const AttentionShape& sh = a.shape;
  const bool finished = a.out.y != nullptr;
  float* num = finished ? ws.num : a.out.num;
  float* den = finished ? (a.options.normalize ? ws.den : nullptr) : a.out.den;
  const size_t tokens = static_cast<size_t>(sh.Rows() * sh.length);
  LION_CUDA_RETURN_IF_ERROR(CudaStatus(
      cudaMemsetAsync(num, 0, tokens * sh.dv * sizeof(float), a.stream), "rnn form: zeroing num"));
  if (den != nullptr) {
    LION_CUDA_RETURN_IF_ERROR(CudaStatus(cudaMemsetAsync(den, 0, tokens * sizeof(float), a.stream),
                                         "rnn form: zeroing den"));
  }
  const dim3 grid(static_cast<unsigned>(sh.Rows()), 2);
  const int threads = static_cast<int>((sh.dv + 1 + 31) / 32 * 32);
  const T* q = static_cast<const T*>(a.q);
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);
  const int dk = static_cast<int>(sh.dk), dv = static_cast<int>(sh.dv);
  if (dk <= 64) {
    RnnScanKernel<T, 64><<<grid, threads, 0, a.stream>>>(
        q, k, v, a.g, a.lengths, sh.heads, sh.length, dk, dv, a.options.scale, num, den);
  } else {
    RnnScanKernel<T, 128><<<grid, threads, 0, a.stream>>>(
        q, k, v, a.g, a.lengths, sh.heads, sh.length, dk, dv, a.options.scale, num, den);
  }
  LION_CUDA_RETURN_IF_ERROR(LaunchStatus("rnn form scan kernel launch"));
  if (!finished) return absl::OkStatus();
  const int64_t total = static_cast<int64_t>(tokens) * sh.dv;
  constexpr int kFinishThreads = 256;
  FinishKernel<T><<<static_cast<unsigned>((total + kFinishThreads - 1) / kFinishThreads),
                    kFinishThreads, 0, a.stream>>>(num, den, a.lengths, sh.heads, sh.length, dv,
                                                   a.options.eps, a.options.normalize, total,
                                                   static_cast<T*>(a.out.y));
  return LaunchStatus("rnn form finish kernel launch");
}

}  // namespace

absl::Status LaunchRnn(const FormArgs& args, const Workspace& ws) {
  if (args.shape.Rows() == 0 || args.shape.length == 0) return absl::OkStatus();
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
