// The device side of the runtime that runs without a GPU: --device parsing,
// the startup check's messages (CPU-only build, no GPU, index past the
// devices), the GPU memory budget, and the form policy on a GPU given the
// limits a calibration on the device would produce.
#include "server/runtime/device.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lion/kernels/lion_attention_cuda.h"
#include "server/runtime/device_memory.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/torch_model.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::HasSubstr;

TEST(DeviceTest, ParsesDevices) {
  auto cpu = ParseDevice("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->is_cuda());
  EXPECT_EQ(cpu->ToString(), "cpu");
  auto cuda = ParseDevice("cuda");
  ASSERT_TRUE(cuda.ok());
  EXPECT_TRUE(cuda->is_cuda());
  EXPECT_EQ(cuda->index, 0);
  EXPECT_EQ(cuda->ToString(), "cuda:0");
  auto third = ParseDevice("cuda:3");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->index, 3);
  EXPECT_EQ(third->ToString(), "cuda:3");
  for (const char* bad :
       {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "cuda:+1", "CUDA", "cuda:0:1"}) {
    EXPECT_EQ(ParseDevice(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DeviceTest, ParsesDtypes) {
  EXPECT_EQ(*ParseDType("float32"), kernels::DType::kFloat32);
  EXPECT_EQ(*ParseDType("bfloat16"), kernels::DType::kBFloat16);
  EXPECT_EQ(*ParseDType("float16"), kernels::DType::kFloat16);
  EXPECT_EQ(ParseDType("fp16").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeviceTest, StartupCheckExplainsWhyCudaCannotRun) {
  const DeviceSpec cpu = *ParseDevice("cpu"), gpu1 = *ParseDevice("cuda:1");
  EXPECT_TRUE(CheckDeviceUsable(cpu, CudaSupport{false, 0}).ok());

  const absl::Status cpu_only = CheckDeviceUsable(gpu1, CudaSupport{false, 0});
  EXPECT_EQ(cpu_only.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cpu_only.message(),
              HasSubstr("--device=cuda:1: this lion-serve was built without CUDA"));

  const absl::Status no_gpu = CheckDeviceUsable(gpu1, CudaSupport{true, 0});
  EXPECT_EQ(no_gpu.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_gpu.message(), HasSubstr("no usable CUDA device"));

  const absl::Status past = CheckDeviceUsable(gpu1, CudaSupport{true, 1});
  EXPECT_EQ(past.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(past.message(), HasSubstr("1 CUDA device (cuda:0 to cuda:0)"));

  EXPECT_TRUE(CheckDeviceUsable(gpu1, CudaSupport{true, 2}).ok());
}

// The model load is where the server starts: --device=cuda on a machine (or
// build) that cannot run it fails there, naming the device, before weights.
TEST(DeviceTest, LoadingOnAnUnusableGpuFailsAtLoad) {
  const CudaSupport support = CurrentCudaSupport();
  if (support.device_count > 0) GTEST_SKIP() << "this machine has a GPU";
  const std::string dir = std::string(LION_SOURCE_DIR_DEFAULT) + "/models/lion-mlm-mini";
  if (!std::filesystem::exists(dir + "/config.json")) GTEST_SKIP() << "no " << dir;
  TorchModelOptions options;
  options.device = "cuda";
  auto model = LoadTorchModel(dir, options);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(model.status().message(),
              HasSubstr(support.kernels_built ? "no usable CUDA device" : "built without CUDA"));
  options.device = "cpu";
  options.dtype = "bfloat16";  // 16-bit weights need a GPU
  EXPECT_EQ(LoadTorchModel(dir, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeviceTest, GpuMemoryBudgetComesFromFreeMemory) {
  const int64_t kDefault = int64_t{1} << 30, kFree = int64_t{100} << 30;
  EXPECT_EQ(GpuMemoryBudget(kFree, kDefault, kDefault), kFree / 2);
  EXPECT_EQ(GpuMemoryBudget(kFree, int64_t{3} << 30, kDefault),
            int64_t{3} << 30);                                             // pinned by flag
  EXPECT_EQ(GpuMemoryBudget(kFree, int64_t{500} << 30, kDefault), kFree);  // capped
  EXPECT_EQ(GpuMemoryBudget(0, kDefault, kDefault), 1);
}

TEST(DeviceTest, CpuLimitsStayAsTheyAre) {
  FormLimits limits;
  limits.memory_budget_bytes = 12345;
  const FormLimits same = DeviceFormLimits(limits, "cpu", 12345);
  EXPECT_FALSE(same.cuda);
  EXPECT_EQ(same.memory_budget_bytes, 12345);
}

// On a GPU the CUDA kernels' memory counts: the full form is O(L) there.
TEST(GpuFormPolicyTest, MemoryIsTheCudaKernelsAndLinearInLength) {
  const AttentionDims dims{12, 64, 1};
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    const int64_t one = CudaAttentionMemoryBytes(form, dims, 1, 4096);
    const int64_t four = CudaAttentionMemoryBytes(form, dims, 1, 4 * 4096);
    EXPECT_GT(one, 0);
    EXPECT_LT(four, 5 * one) << kernels::FormName(form);  // linear, not quadratic
  }
  // The full form's O(L^2) CPU estimate is far above its GPU one at long L.
  EXPECT_GT(AttentionMemoryBytes(Form::kFull, dims, 8, 32768, 64),
            CudaAttentionMemoryBytes(Form::kFull, dims, 8, 32768));
  AttentionDims two = dims;
  two.orders = 2;
  EXPECT_EQ(CudaAttentionMemoryBytes(Form::kChunk, two, 2, 1000),
            2 * CudaAttentionMemoryBytes(Form::kChunk, dims, 2, 1000));
}

// A fake calibration on a GPU: timings put the full/chunk crossover at 2048
// tokens for batches and at 4096 for a lone request, and the RNN form never
// wins. The policy must pick the full form below the crossover, the chunk
// form above it, and fall back only when the device's memory runs out.
TEST(GpuFormPolicyTest, FullBelowTheMeasuredCrossoverThenChunk) {
  FormLimits limits;
  limits.full_max_tokens = 2048;
  limits.chunk_size = 64;
  limits.rnn_min_tokens = 0;
  limits.single = FormThresholds{4096, 0};
  limits.cuda = true;
  limits.memory_budget_bytes =
      GpuMemoryBudget(int64_t{120} << 30, int64_t{1} << 30, int64_t{1} << 30);
  const AttentionDims dims{12, 64, 1};
  EXPECT_EQ(ChooseForm(limits, dims, 64, 512), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 64, 2048), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 64, 2049), Form::kChunk);
  EXPECT_EQ(ChooseForm(limits, dims, 8, 32768), Form::kChunk);
  EXPECT_EQ(ChooseForm(limits, dims, 1, 4096), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 1, 4097), Form::kChunk);
  // A budget just large enough for the GPU's full form holds it there (the
  // CPU's estimate of the same batch is larger).
  FormLimits small = limits;
  small.memory_budget_bytes = CudaAttentionMemoryBytes(Form::kFull, dims, 64, 2048);
  EXPECT_GT(AttentionMemoryBytes(Form::kFull, dims, 64, 2048, 64), small.memory_budget_bytes);
  EXPECT_EQ(ChooseForm(small, dims, 64, 2048), Form::kFull);
  // A nearly full device: nothing fits but the smallest form.
  small.memory_budget_bytes = CudaAttentionMemoryBytes(Form::kRnn, dims, 64, 100000);
  EXPECT_LT(CudaAttentionMemoryBytes(Form::kRnn, dims, 64, 100000),
            CudaAttentionMemoryBytes(Form::kChunk, dims, 64, 100000));
  EXPECT_EQ(ChooseForm(small, dims, 64, 100000), Form::kRnn);
}

}  // namespace
}  // namespace lion::runtime
