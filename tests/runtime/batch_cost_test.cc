#include "server/runtime/batch_cost.h"

#include "gtest/gtest.h"

namespace lion::runtime {
namespace {

TEST(BatchCostModelTest, UnknownBeforeTheFirstBatch) {
  BatchCostModel model;
  EXPECT_FALSE(model.Estimate().known());
  model.Add(0, 1.0);   // an empty batch says nothing
  model.Add(10, 0.0);  // nor does one that took no time
  EXPECT_FALSE(model.Estimate().known());
}

TEST(BatchCostModelTest, FitsOverheadAndPerTokenCost) {
  BatchCostModel model;
  for (int64_t tokens : {100, 400, 1600, 100, 800}) model.Add(tokens, 0.02 + 1e-4 * tokens);
  const BatchCost cost = model.Estimate();
  EXPECT_NEAR(cost.overhead_s, 0.02, 1e-9);
  EXPECT_NEAR(cost.seconds_per_token, 1e-4, 1e-12);
  EXPECT_NEAR(cost.Seconds(3, 1000), 3 * 0.02 + 0.1, 1e-9);
}

TEST(BatchCostModelTest, OneBatchSizeCountsAsOverhead) {
  BatchCostModel model;
  model.Add(512, 0.2);
  model.Add(512, 0.4);
  const BatchCost cost = model.Estimate();
  EXPECT_EQ(cost.seconds_per_token, 0);
  EXPECT_NEAR(cost.overhead_s, (0.9 * 0.2 + 0.4) / 1.9, 1e-12);  // the older batch fades
}

TEST(BatchCostModelTest, ALargerBatchThatTookLessTimeGivesNoSlope) {
  BatchCostModel model;
  model.Add(100, 0.5);
  model.Add(1000, 0.1);
  const BatchCost cost = model.Estimate();
  EXPECT_EQ(cost.seconds_per_token, 0);
  EXPECT_GT(cost.overhead_s, 0.1);
}

TEST(BatchCostModelTest, ANegativeInterceptBecomesAPureRate) {
  BatchCostModel model;
  model.Add(100, 0.05);
  model.Add(200, 0.2);  // the line through both crosses zero at 66 tokens
  const BatchCost cost = model.Estimate();
  EXPECT_EQ(cost.overhead_s, 0);
  EXPECT_GT(cost.seconds_per_token, 0);
}

TEST(BatchCostModelTest, OldBatchesFade) {
  BatchCostModel model;
  for (int i = 0; i < 10; ++i) model.Add(100 * (1 + i % 2), 1.0 + 0.01 * 100 * (1 + i % 2));
  for (int i = 0; i < 200; ++i) model.Add(100 * (1 + i % 2), 0.1 + 0.001 * 100 * (1 + i % 2));
  const BatchCost cost = model.Estimate();
  EXPECT_NEAR(cost.overhead_s, 0.1, 1e-6);
  EXPECT_NEAR(cost.seconds_per_token, 0.001, 1e-8);
}

}  // namespace
}  // namespace lion::runtime
