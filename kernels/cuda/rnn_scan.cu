// One thread block per (row, direction); thread j < dv owns column j of the
// dk x dv state S in registers, thread dv owns the normaliser z (the "ones"
// column of [V | 1]). Each token: S[:, j] = a S[:, j] + k v_j, y_j = q.S[:, j]
// - (q.k) v_j / 2. Tiles of kTile tokens of q and k are staged in shared
// memory. The two directions add into the zero-initialised outputs with
// atomicAdd (two addends per element: the sum is order-independent).
#include <cuda_runtime.h>

#include "absl/strings/str_cat.h"
#include "lion/kernels/rnn_scan_cuda.h"

namespace lion::kernels {
namespace {

constexpr int kTile = 32;

template <int kDk>
__global__ void RnnScanKernel(const float* __restrict__ q, const float* __restrict__ k,
                              const float* __restrict__ v, const float* __restrict__ g,
                              const int64_t* __restrict__ lengths, int64_t heads, int64_t L,
                              int dk, int dv, float scale, float* __restrict__ num,
                              float* __restrict__ den) {
  const int64_t row = blockIdx.x;
  const bool forward = blockIdx.y == 0;
  const int j = threadIdx.x;  // column: j < dv value, j == dv normaliser
  const int64_t n = lengths ? lengths[row / heads] : L;
  const float* qr = q + row * L * dk;
  const float* kr = k + row * L * dk;
  const float* vr = v + row * L * dv;
  const float* gr = g + row * L;
  __shared__ float sq[kTile][kDk];
  __shared__ float sk[kTile][kDk];
  __shared__ float sa[kTile];
  float s[kDk];
#pragma unroll
  for (int r = 0; r < kDk; ++r) s[r] = 0.0f;

  for (int64_t t0 = 0; t0 < n; t0 += kTile) {
    const int tile = n - t0 < kTile ? static_cast<int>(n - t0) : kTile;
    __syncthreads();
    for (int idx = threadIdx.x; idx < tile * dk; idx += blockDim.x) {
      const int t = idx / dk, r = idx % dk;
      const int64_t i = forward ? t0 + t : n - 1 - (t0 + t);
      sq[t][r] = qr[i * dk + r];
      sk[t][r] = kr[i * dk + r];
    }
    for (int t = threadIdx.x; t < tile; t += blockDim.x) {
      const int64_t step = t0 + t;
      const int64_t i = forward ? step : n - 1 - step;
      sa[t] = step == 0 ? 0.0f : __expf(gr[forward ? i - 1 : i + 1]);
    }
    __syncthreads();
    if (j > dv) continue;
    for (int t = 0; t < tile; ++t) {
      const int64_t i = forward ? t0 + t : n - 1 - (t0 + t);
      const float val = j < dv ? vr[i * dv + j] : 1.0f;
      const float a = sa[t];
      float y = 0.0f, qk = 0.0f;
#pragma unroll
      for (int r = 0; r < kDk; ++r) {
        if (r < dk) {
          s[r] = a * s[r] + sk[t][r] * val;
          y += sq[t][r] * s[r];
          qk += sq[t][r] * sk[t][r];
        }
      }
      y = scale * (y - 0.5f * qk * val);
      if (j < dv) {
        atomicAdd(num + (row * L + i) * dv + j, y);
      } else if (den != nullptr) {
        atomicAdd(den + row * L + i, y);
      }
    }
  }
}

template <int kDk>
void Launch(const AttentionShape& sh, const float* q, const float* k, const float* v,
            const float* g, const int64_t* lengths, float scale, float* num, float* den,
            cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(sh.Rows()), 2);
  const int threads = static_cast<int>((sh.dv + 1 + 31) / 32 * 32);
  RnnScanKernel<kDk><<<grid, threads, 0, stream>>>(q, k, v, g, lengths, sh.heads, sh.length,
                                                   static_cast<int>(sh.dk),
                                                   static_cast<int>(sh.dv), scale, num, den);
}

}  // namespace

int CudaDeviceCount() {
  int count = 0;  // left untouched when there is no driver (error 35)
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return count;
}

absl::Status LionRnnScanCuda(const AttentionShape& shape, const float* q, const float* k,
                             const float* v, const float* g, const int64_t* lengths,
                             const AttentionOptions& options, float* num, float* den,
                             cudaStream_t stream) {
  if (absl::Status s = shape.Validate(); !s.ok()) return s;
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (shape.dk > kRnnScanCudaMaxDk || shape.dv > 1023) {
    return absl::InvalidArgumentError(absl::StrCat("CUDA RNN scan takes dk <= ", kRnnScanCudaMaxDk,
                                                   " and dv <= 1023; got dk=", shape.dk,
                                                   " dv=", shape.dv));
  }
  if (options.normalize && den == nullptr) {
    return absl::InvalidArgumentError("normalize needs a den output");
  }
  const size_t rows = static_cast<size_t>(shape.Rows() * shape.length);
  if (rows == 0) return absl::OkStatus();
  cudaMemsetAsync(num, 0, rows * shape.dv * sizeof(float), stream);
  if (den != nullptr) cudaMemsetAsync(den, 0, rows * sizeof(float), stream);
  if (shape.dk <= 32) {
    Launch<32>(shape, q, k, v, g, lengths, options.scale, num, den, stream);
  } else if (shape.dk <= 64) {
    Launch<64>(shape, q, k, v, g, lengths, options.scale, num, den, stream);
  } else {
    Launch<128>(shape, q, k, v, g, lengths, options.scale, num, den, stream);
  }
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    return absl::InternalError(absl::StrCat("CUDA RNN scan launch failed: ", cudaGetErrorString(err)));
  }
  return absl::OkStatus();
}

}  // namespace lion::kernels
