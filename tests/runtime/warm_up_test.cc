#include "server/runtime/warm_up.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using ::testing::HasSubstr;

TEST(WarmUpTest, RunsEveryFormAndCatchesDisagreement) {
  for (const char* kind : {"mlm", "classification", "vision"}) {
    FakeModel model(FakeModel::Describe("m", kind));
    ASSERT_TRUE(WarmUp(model, 64).ok()) << kind;
    ASSERT_EQ(model.calls().size(), 3u);
    EXPECT_EQ(model.calls()[1].form, kernels::Form::kChunk);
    EXPECT_LT(model.calls()[1].chunk_size, 24);  // crosses chunk boundaries
  }
  FakeModel skewed(FakeModel::Describe("m", "mlm"));
  skewed.SkewForm(kernels::Form::kRnn, 0.5f);
  absl::Status s = WarmUp(skewed, 64);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("rnn"));
}

}  // namespace
}  // namespace lion::runtime
