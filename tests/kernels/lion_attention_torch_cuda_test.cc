// kernels::LionAttention on CUDA tensors (LibTorch's CUDA, current stream)
// against the same call on the CPU: every form, dtype and variant, padded
// batches with lengths on the host and on the device, LionAttentionNumDen's
// float32 num/den, and the two-order variant. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lion/kernels/cuda_device.h"
#include "lion/kernels/lion_attention.h"
#include "tests/kernels/attention_test_util.h"

namespace lion::kernels {
namespace {

using testing::Inputs;
using testing::MakeInputs;
using testing::RelErr;
using testing::Variant;

#define SKIP_WITHOUT_GPU()    \
  if (CudaDeviceCount() == 0) \
  GTEST_SKIP() << "no CUDA device on this machine (the test needs a GPU)"

AttentionOptions Opts(Form form, bool normalize, int64_t d) {
  AttentionOptions o;
  o.form = form;
  o.chunk_size = 32;
  o.normalize = normalize;
  o.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  return o;
}

TEST(LionAttentionTorchCudaTest, CudaTensorsMatchCpu) {
  SKIP_WITHOUT_GPU();
  const at::Device gpu(at::kCUDA, 0);
  const std::vector<int64_t> lens = {300, 177, 1};
  for (Variant variant : {Variant::kLit, Variant::kD, Variant::kS}) {
    for (bool normalize : {true, false}) {
      const Inputs in = MakeInputs(variant, 3, 2, 300, 64, normalize, 5);
      const at::Tensor lengths = at::tensor(lens, at::kLong);
      for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
        const AttentionOptions o = Opts(form, normalize, 64);
        absl::StatusOr<at::Tensor> cpu = LionAttention(in.q, in.k, in.v, in.g, lengths, o);
        ASSERT_TRUE(cpu.ok()) << cpu.status();
        for (at::ScalarType t : {at::kFloat, at::kBFloat16, at::kHalf}) {
          // Lengths on the host for one dtype, on the device for the others.
          const at::Tensor len = t == at::kFloat ? lengths : lengths.to(gpu);
          absl::StatusOr<at::Tensor> y = LionAttention(in.q.to(gpu, t), in.k.to(gpu, t),
                                                       in.v.to(gpu, t), in.g.to(gpu), len, o);
          ASSERT_TRUE(y.ok()) << y.status();
          EXPECT_EQ(y->scalar_type(), t);
          EXPECT_TRUE(y->device().is_cuda());
          const double tol = t == at::kFloat ? 1e-5 : 2e-2;
          EXPECT_LE(RelErr(y->cpu().to(at::kFloat), *cpu), tol)
              << testing::VariantName(variant) << " " << FormName(form) << " " << c10::toString(t)
              << (normalize ? " normalized" : " mlm");
        }
      }
    }
  }
}

TEST(LionAttentionTorchCudaTest, NumDenAreFloat32) {
  SKIP_WITHOUT_GPU();
  const at::Device gpu(at::kCUDA, 0);
  const Inputs in = MakeInputs(Variant::kS, 2, 2, 130, 64, true, 9);
  const AttentionOptions o = Opts(Form::kChunk, true, 64);
  absl::StatusOr<NumDen> cpu = LionAttentionNumDen(in.q, in.k, in.v, in.g, at::Tensor(), o);
  absl::StatusOr<NumDen> cuda =
      LionAttentionNumDen(in.q.to(gpu, at::kBFloat16), in.k.to(gpu, at::kBFloat16),
                          in.v.to(gpu, at::kBFloat16), in.g.to(gpu), at::Tensor(), o);
  ASSERT_TRUE(cpu.ok() && cuda.ok()) << cuda.status();
  EXPECT_EQ(cuda->num.scalar_type(), at::kFloat);
  EXPECT_EQ(cuda->den.scalar_type(), at::kFloat);
  EXPECT_LE(RelErr(cuda->num.cpu(), cpu->num), 2e-2);
  EXPECT_LE(RelErr(cuda->den.cpu(), cpu->den), 2e-2);
}

TEST(LionAttentionTorchCudaTest, MultiOrderMatchesCpu) {
  SKIP_WITHOUT_GPU();
  const at::Device gpu(at::kCUDA, 0);
  const int64_t L = 17;
  const Inputs in = MakeInputs(Variant::kD, 2, 2, L, 16, true, 41);
  const Inputs second = MakeInputs(Variant::kD, 2, 2, L, 16, true, 42);
  const at::Tensor o1 = at::arange(L, at::kLong), o2 = at::flip(at::arange(L, at::kLong), {0});
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    AttentionOptions o = Opts(form, true, 16);
    o.scale /= 2.0f;
    auto cpu = LionAttentionMultiOrder(in.q, in.k, in.v, {o1, o2}, {in.g, second.g}, o);
    auto cuda = LionAttentionMultiOrder(in.q.to(gpu), in.k.to(gpu), in.v.to(gpu), {o1, o2},
                                        {in.g.to(gpu), second.g.to(gpu)}, o);
    ASSERT_TRUE(cpu.ok() && cuda.ok()) << cuda.status();
    EXPECT_LE(RelErr(cuda->cpu(), *cpu), 1e-5) << FormName(form);
  }
}

TEST(LionAttentionTorchCudaTest, RejectsMixedDtypes) {
  SKIP_WITHOUT_GPU();
  const at::Device gpu(at::kCUDA, 0);
  const Inputs in = MakeInputs(Variant::kD, 1, 1, 8, 8, true, 1);
  auto y = LionAttention(in.q.to(gpu, at::kBFloat16), in.k.to(gpu), in.v.to(gpu), in.g.to(gpu),
                         at::Tensor(), Opts(Form::kFull, true, 8));
  EXPECT_EQ(y.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lion::kernels
