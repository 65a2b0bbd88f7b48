#include "server/batching/batch_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::batching {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using std::chrono::milliseconds;

const TimePoint kT0 = TimePoint{} + std::chrono::seconds(100);

BatchLimits Limits(int64_t tokens, int64_t size, milliseconds delay) {
  BatchLimits l;
  l.max_batch_tokens = tokens;
  l.max_batch_size = size;
  l.max_queue_delay = delay;
  return l;
}

PendingRequest Req(int64_t length, milliseconds arrived_after = milliseconds(0)) {
  PendingRequest r;
  r.length = length;
  r.arrival = kT0 + arrived_after;
  return r;
}

TEST(BatchPolicyTest, EmptyQueueWaitsForArrivals) {
  BatchPlan plan = PlanBatch({}, kT0, Limits(100, 4, milliseconds(5)), false);
  EXPECT_THAT(plan.batch, IsEmpty());
  EXPECT_FALSE(plan.wake_at.has_value());
}

TEST(BatchPolicyTest, LoneRequestWaitsForTheQueueDelayThenGoes) {
  const auto limits = Limits(1000, 4, milliseconds(5));
  BatchPlan early = PlanBatch({Req(10)}, kT0 + milliseconds(4), limits, false);
  EXPECT_THAT(early.batch, IsEmpty());
  ASSERT_TRUE(early.wake_at.has_value());
  EXPECT_EQ(*early.wake_at, kT0 + milliseconds(5));
  BatchPlan due = PlanBatch({Req(10)}, kT0 + milliseconds(5), limits, false);
  EXPECT_THAT(due.batch, ElementsAre(0));
}

TEST(BatchPolicyTest, SizeCapSendsAFullBatchAtOnceOldestFirst) {
  std::vector<PendingRequest> q = {Req(10), Req(10), Req(10), Req(10), Req(10)};
  BatchPlan plan = PlanBatch(q, kT0, Limits(1000, 3, milliseconds(50)), false);
  EXPECT_THAT(plan.batch, ElementsAre(0, 1, 2));
}

TEST(BatchPolicyTest, TokenBudgetCountsPaddingAndSendsWhenSomethingDidNotFit) {
  // 3 x 100 = 300 > 250: two fit, the third waits for the next batch.
  std::vector<PendingRequest> q = {Req(100), Req(90), Req(100)};
  BatchPlan plan = PlanBatch(q, kT0, Limits(250, 64, milliseconds(50)), false);
  EXPECT_THAT(plan.batch, ElementsAre(0, 2));  // nearest length to the anchor first
  // Padded tokens: 2 x 100 = 200 <= 250 although 90 + 100 + 100 = 290 raw.
}

TEST(BatchPolicyTest, OversizedAnchorRunsAlone) {
  std::vector<PendingRequest> q = {Req(1000), Req(900)};
  BatchPlan plan = PlanBatch(q, kT0, Limits(100, 64, milliseconds(50)), false);
  EXPECT_THAT(plan.batch, ElementsAre(0));
}

TEST(BatchPolicyTest, GroupsSimilarLengthsToBoundPadding) {
  std::vector<PendingRequest> q = {Req(40), Req(500), Req(44), Req(41)};
  BatchPlan plan = PlanBatch(q, kT0 + milliseconds(10), Limits(100000, 64, milliseconds(5)),
                             false);
  EXPECT_THAT(plan.batch, ElementsAre(0, 2, 3));  // 500 > 2 x 40 + 16 waits
  BatchPlan next = PlanBatch({Req(500)}, kT0 + milliseconds(10),
                             Limits(100000, 64, milliseconds(5)), false);
  EXPECT_THAT(next.batch, ElementsAre(0));
}

TEST(BatchPolicyTest, DropsCancelledAndExpiredBeforeBatching) {
  std::vector<PendingRequest> q = {Req(10), Req(10), Req(10), Req(10)};
  q[0].cancelled = true;
  q[2].deadline = kT0 + milliseconds(1);
  BatchPlan plan = PlanBatch(q, kT0 + milliseconds(1), Limits(1000, 64, milliseconds(1)), false);
  EXPECT_THAT(plan.cancelled, ElementsAre(0));
  EXPECT_THAT(plan.expired, ElementsAre(2));
  EXPECT_THAT(plan.batch, ElementsAre(1, 3));
}

TEST(BatchPolicyTest, WakesAtTheEarliestDeadlineWhenItComesFirst) {
  std::vector<PendingRequest> q = {Req(10), Req(10)};
  q[1].deadline = kT0 + milliseconds(2);
  BatchPlan plan = PlanBatch(q, kT0, Limits(1000, 64, milliseconds(10)), false);
  EXPECT_THAT(plan.batch, IsEmpty());
  EXPECT_EQ(*plan.wake_at, kT0 + milliseconds(2));
}

TEST(BatchPolicyTest, ForcedFormsBatchOnlyWithTheirGroup) {
  std::vector<PendingRequest> q = {Req(10), Req(10), Req(10)};
  q[1].group = 3;
  BatchPlan plan = PlanBatch(q, kT0 + milliseconds(10), Limits(1000, 64, milliseconds(1)), false);
  EXPECT_THAT(plan.batch, ElementsAre(0, 2));
}

TEST(BatchPolicyTest, FlushSendsWithoutWaiting) {
  BatchPlan plan = PlanBatch({Req(10), Req(12)}, kT0, Limits(1000, 64, milliseconds(50)), true);
  EXPECT_THAT(plan.batch, ElementsAre(0, 1));
}

}  // namespace
}  // namespace lion::batching
