#include "server/runtime/form_policy.h"

#include "gtest/gtest.h"
#include "lion/kernels/lion_attention.h"

namespace lion::runtime {
namespace {

using kernels::Form;

TEST(FormPolicyTest, MemoryEstimatesAreTheKernelsWorkspacePerOrder) {
  AttentionDims dims{/*heads=*/2, /*head_dim=*/4, /*orders=*/1};
  for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
    const int64_t kernel = kernels::AttentionWorkspaceBytes(form, 3, 2, 10, 4, 4);
    EXPECT_GT(kernel, 0);
    dims.orders = 1;
    EXPECT_EQ(AttentionMemoryBytes(form, dims, 3, 10, 4), kernel) << kernels::FormName(form);
    dims.orders = 2;
    EXPECT_EQ(AttentionMemoryBytes(form, dims, 3, 10, 4), 2 * kernel) << kernels::FormName(form);
  }
  // A long document on lion-mlm-mini's shape: the RNN form is the smallest,
  // so "RNN when even the chunk form does not fit" always moves down in memory.
  const AttentionDims mini{4, 32, 1};
  const int64_t L = 1 << 20;
  EXPECT_LT(AttentionMemoryBytes(Form::kRnn, mini, 1, L, 64),
            AttentionMemoryBytes(Form::kChunk, mini, 1, L, 64));
  EXPECT_LT(AttentionMemoryBytes(Form::kChunk, mini, 1, L, 64),
            AttentionMemoryBytes(Form::kFull, mini, 1, L, 64));
}

TEST(FormPolicyTest, FullUpToItsLimitThenChunk) {
  FormLimits limits{/*full_max_tokens=*/128, /*chunk_size=*/32, /*rnn_min_tokens=*/0,
                    /*memory_budget_bytes=*/int64_t{1} << 40};
  AttentionDims dims{4, 16, 1};
  EXPECT_EQ(ChooseForm(limits, dims, 8, 1), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 8, 128), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 8, 129), Form::kChunk);
  EXPECT_EQ(ChooseForm(limits, dims, 8, 100000), Form::kChunk);
}

TEST(FormPolicyTest, RnnFromItsThreshold) {
  FormLimits limits{128, 32, /*rnn_min_tokens=*/4096, int64_t{1} << 40};
  AttentionDims dims{4, 16, 1};
  EXPECT_EQ(ChooseForm(limits, dims, 1, 4095), Form::kChunk);
  EXPECT_EQ(ChooseForm(limits, dims, 1, 4096), Form::kRnn);
}

TEST(FormPolicyTest, ALoneRequestUsesItsOwnThresholds) {
  FormLimits limits{/*full_max_tokens=*/256, 32, /*rnn_min_tokens=*/0, int64_t{1} << 40};
  limits.single = FormThresholds{/*full_max_tokens=*/0, /*rnn_min_tokens=*/64};
  AttentionDims dims{4, 16, 1};
  EXPECT_EQ(ChooseForm(limits, dims, 1, 32), Form::kChunk);
  EXPECT_EQ(ChooseForm(limits, dims, 1, 64), Form::kRnn);
  EXPECT_EQ(ChooseForm(limits, dims, 2, 64), Form::kFull);
  EXPECT_EQ(ChooseForm(limits, dims, 2, 1000), Form::kChunk);
}

TEST(FormPolicyTest, MemoryBudgetPushesTowardsSmallerForms) {
  AttentionDims dims{4, 16, 1};
  const int64_t batch = 16, len = 100;
  FormLimits limits{/*full_max_tokens=*/1000, 32, 0, 0};
  limits.memory_budget_bytes = AttentionMemoryBytes(Form::kFull, dims, batch, len, 32);
  EXPECT_EQ(ChooseForm(limits, dims, batch, len), Form::kFull);
  limits.memory_budget_bytes -= 1;
  EXPECT_EQ(ChooseForm(limits, dims, batch, len), Form::kChunk);
  limits.memory_budget_bytes = AttentionMemoryBytes(Form::kChunk, dims, batch, len, 32) - 1;
  EXPECT_EQ(ChooseForm(limits, dims, batch, len), Form::kRnn);
}

}  // namespace
}  // namespace lion::runtime
