// The CUDA RNN scan against the scalar reference (needs a GPU: skips with the
// reason otherwise). Raw device pointers, no LibTorch CUDA.
#include "lion/kernels/rnn_scan_cuda.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/attention_test_util.h"

namespace lion::kernels {
namespace {

using testing::MakeInputs;
using testing::Variant;

class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) { cudaMalloc(&ptr_, bytes); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  template <typename T>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

DeviceBuffer Upload(const at::Tensor& t) {
  const size_t bytes = t.numel() * t.element_size();
  DeviceBuffer b(bytes);
  cudaMemcpy(b.get<void>(), t.data_ptr(), bytes, cudaMemcpyHostToDevice);
  return b;
}

TEST(RnnScanCudaTest, MatchesReference) {
  if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device in this machine";
  const int64_t B = 3, H = 4;
  for (int64_t d : {32, 64, 128}) {
    for (Variant variant : {Variant::kLit, Variant::kD, Variant::kS}) {
      for (int64_t L : {1, 33, 1000}) {
        for (bool normalize : {true, false}) {
          const testing::Inputs in = MakeInputs(variant, B, H, L, d, normalize, 50 + L);
          std::vector<int64_t> lens = {L, std::max<int64_t>(1, L / 2), 0};
          const at::Tensor lengths = at::tensor(lens, at::kLong);
          AttentionOptions o;
          o.form = Form::kRnn;
          o.normalize = normalize;
          o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
          const at::Tensor ref = testing::ReferenceOutput(in, lengths, o);
          DeviceBuffer q = Upload(in.q), k = Upload(in.k), v = Upload(in.v), g = Upload(in.g);
          DeviceBuffer len = Upload(lengths);
          DeviceBuffer num(in.v.numel() * 4), den(B * H * L * 4);
          AttentionShape shape{B, H, L, d, d};
          ASSERT_TRUE(LionRnnScanCuda(shape, q.get<float>(), k.get<float>(), v.get<float>(),
                                      g.get<float>(), len.get<int64_t>(), o, num.get<float>(),
                                      normalize ? den.get<float>() : nullptr, nullptr)
                          .ok());
          ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
          at::Tensor n = at::empty(in.v.sizes(), at::kFloat), dn = at::empty({B, H, L}, at::kFloat);
          cudaMemcpy(n.data_ptr(), num.get<void>(), n.numel() * 4, cudaMemcpyDeviceToHost);
          cudaMemcpy(dn.data_ptr(), den.get<void>(), dn.numel() * 4, cudaMemcpyDeviceToHost);
          const at::Tensor y = normalize ? n / (dn + o.eps).unsqueeze(3) : n;
          at::Tensor y_valid = y.nan_to_num(0.0);  // rows past a length: 0/eps = 0
          EXPECT_LE(testing::RelErr(y_valid, ref), 2e-5)
              << testing::VariantName(variant) << " d=" << d << " L=" << L;
        }
      }
    }
  }
}

TEST(RnnScanCudaTest, RejectsTooWideHeads) {
  AttentionShape shape{1, 1, 4, 256, 8};
  AttentionOptions o;
  EXPECT_EQ(LionRnnScanCuda(shape, nullptr, nullptr, nullptr, nullptr, nullptr, o, nullptr,
                            nullptr, nullptr)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lion::kernels
