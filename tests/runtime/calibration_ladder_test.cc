#include "server/runtime/calibration_ladder.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime/fake_form_timer.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::ElementsAre;

// Seconds per sequence: full quadratic, the linear forms with a per-call
// overhead, so the winners change with the length as on real hardware.
double Cost(Form form, int64_t length, double rnn_per_token = 3e-7) {
  const double L = static_cast<double>(length);
  switch (form) {
    case Form::kFull:
      return 1e-9 * L * L + 2e-6;
    case Form::kChunk:
      return 2e-7 * L + 1e-5;
    case Form::kRnn:
      return rnn_per_token * L + 3e-5;
  }
  return 0;
}

CalibrationPlan TextPlan(int64_t max_length) {
  CalibrationPlan plan;
  plan.lengths = GeometricLadder(max_length);
  plan.chunk_length = std::min<int64_t>(max_length, 512);
  plan.dims = AttentionDims{4, 32, 1};
  plan.memory_budget_bytes = int64_t{1} << 40;
  plan.climb_budget_seconds = 1e9;
  plan.max_call_seconds = 1e9;
  return plan;
}

int64_t LongestTimed(const FakeFormTimer& timer, Form form, int64_t batch) {
  int64_t longest = 0;
  for (const TimedCall& c : timer.calls()) {
    if (c.form == form && c.batch == batch) longest = std::max(longest, c.length);
  }
  return longest;
}

TEST(CalibrationLadderTest, LaddersDoubleFrom32AndEndAtTheLongestInput) {
  EXPECT_THAT(GeometricLadder(200), ElementsAre(32, 64, 128, 200));
  EXPECT_THAT(GeometricLadder(256), ElementsAre(32, 64, 128, 256));
  EXPECT_THAT(GeometricLadder(17), ElementsAre(17));
}

TEST(CalibrationLadderTest, PlansFollowTheModel) {
  config::FormOptions flags;
  flags.chunk_size = 48;
  flags.memory_budget_bytes = 12345;
  const CalibrationPlan text = PlanFor(FakeModel::Describe("m", "mlm"), 8192, flags);
  EXPECT_TRUE(text.open_ended);
  EXPECT_EQ(text.lengths.front(), 32);
  EXPECT_EQ(text.lengths.back(), 8192);
  EXPECT_EQ(text.chunk_length, 512);
  EXPECT_EQ(text.pinned_chunk_size, 48);
  EXPECT_EQ(text.memory_budget_bytes, 12345);
  ModelDescription vit = FakeModel::Describe("v", "vision");
  vit.image_size = 64;
  vit.patch_size = 4;
  const CalibrationPlan vision = PlanFor(vit, 8192, flags);
  EXPECT_FALSE(vision.open_ended);
  EXPECT_THAT(vision.lengths, ElementsAre(16 * 16 + 1));  // patches + CLS, whatever the flag
  EXPECT_EQ(vision.chunk_length, 257);
}

TEST(CalibrationLadderTest, EachLengthTimesEveryFormInInterleavedRounds) {
  CalibrationPlan plan = TextPlan(32);
  plan.pinned_chunk_size = 64;
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  ASSERT_TRUE(MeasureTable(timer, plan, &clock).ok());
  std::vector<Form> forms;
  for (const TimedCall& c : timer.calls()) {
    if (c.batch == kCalibrationBatch) forms.push_back(c.form);
  }
  EXPECT_THAT(forms, ElementsAre(Form::kChunk, Form::kRnn, Form::kFull, Form::kChunk, Form::kRnn,
                                 Form::kFull, Form::kChunk, Form::kRnn, Form::kFull));
}

// A loaded machine: the chunk form's first samples are inflated.
TEST(CalibrationLadderTest, RoundsGoOnUntilEachBestIsConfirmed) {
  CalibrationPlan plan = TextPlan(32);
  plan.pinned_chunk_size = 64;
  int chunk_calls = 0;
  FakeClock clock;
  FakeFormTimer timer(
      [&](Form f, int64_t l, int64_t, int64_t) {
        if (f != Form::kChunk) return Cost(f, l);
        ++chunk_calls;
        return Cost(f, l) * (chunk_calls <= 8 ? 10.0 - chunk_calls : 1.0);
      },
      &clock);
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  // Batch of 4: samples x9 ... x2 over 8 rounds, the most allowed: the best is
  // twice the true cost. One request: two clean samples in rounds 1 and 2,
  // then the third minimum round.
  EXPECT_DOUBLE_EQ(*table->batched[0].Of(Form::kChunk), 2 * Cost(Form::kChunk, 32));
  EXPECT_DOUBLE_EQ(*table->single[0].Of(Form::kChunk), Cost(Form::kChunk, 32));
  EXPECT_EQ(chunk_calls, 8 + 3);
  // Past the budget, no rounds beyond the minimum.
  plan.climb_budget_seconds = 0;
  chunk_calls = 0;
  table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(chunk_calls, 3 + 3);
}

TEST(CalibrationLadderTest, FullIsNotTimedPastItsFirstLossAndTheClimbStopsOnceSettled) {
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  auto table = MeasureTable(timer, TextPlan(1 << 20), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  // Full: 1e-9 L^2 is within 5% of the chunk form up to L = 128 and not at 256.
  const Calibration c = DeriveCalibration(*table);
  EXPECT_EQ(c.full_max_tokens, 128);
  EXPECT_EQ(c.rnn_min_tokens, 0);
  EXPECT_EQ(LongestTimed(timer, Form::kFull, kCalibrationBatch), 256);
  // The linear forms cost the same per token from a few hundred tokens on:
  // the climb stops there, far below 1M.
  EXPECT_LT(table->batched.back().length, 8192);
  EXPECT_LT(table->single.back().length, 8192);
}

// The pruned climb reaches the same limits as timing every form at every
// length, on cost shapes where each form wins somewhere.
TEST(CalibrationLadderTest, PruningDoesNotChangeTheDecision) {
  for (double rnn_per_token : {3e-7, 1.5e-7, 1e-7}) {
    auto cost = [rnn_per_token](Form f, int64_t l, int64_t, int64_t) {
      return Cost(f, l, rnn_per_token);
    };
    for (int64_t max_length : {int64_t{1000}, int64_t{1} << 16}) {
      CalibrationPlan plan = TextPlan(max_length);
      FakeClock clock;
      FakeFormTimer pruned_timer(cost, &clock), full_timer(cost, &clock);
      auto pruned = MeasureTable(pruned_timer, plan, &clock);
      plan.prune = false;
      auto exhaustive = MeasureTable(full_timer, plan, &clock);
      ASSERT_TRUE(pruned.ok() && exhaustive.ok());
      const Calibration a = DeriveCalibration(*pruned), b = DeriveCalibration(*exhaustive);
      const std::string where = absl::StrCat("rnn ", rnn_per_token, " max ", max_length);
      EXPECT_EQ(a.full_max_tokens, b.full_max_tokens) << where;
      EXPECT_EQ(a.rnn_min_tokens, b.rnn_min_tokens) << where;
      EXPECT_EQ(a.single.full_max_tokens, b.single.full_max_tokens) << where;
      EXPECT_EQ(a.single.rnn_min_tokens, b.single.rnn_min_tokens) << where;
      EXPECT_EQ(a.chunk_size, b.chunk_size) << where;
      EXPECT_LT(pruned_timer.calls().size(), full_timer.calls().size()) << where;
    }
  }
}

TEST(CalibrationLadderTest, VisionProvesFullTooSlowAtShorterLengths) {
  CalibrationPlan plan = TextPlan(0);
  plan.open_ended = false;
  plan.lengths = {1025};  // a 512 px image in 16 px patches
  plan.chunk_length = 1025;
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  // Full at 512 (2.6e-4 s) is already slower than the chunk form at 1025 (2.2e-4 s).
  EXPECT_EQ(LongestTimed(timer, Form::kFull, kCalibrationBatch), 512);
  EXPECT_FALSE(table->batched[0].Of(Form::kFull).has_value());
  plan.prune = false;
  FakeFormTimer exhaustive([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  auto all = MeasureTable(exhaustive, plan, &clock);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(LongestTimed(exhaustive, Form::kFull, kCalibrationBatch), 1025);
  EXPECT_EQ(DeriveCalibration(*table).full_max_tokens, DeriveCalibration(*all).full_max_tokens);
  EXPECT_EQ(DeriveCalibration(*table).rnn_min_tokens, DeriveCalibration(*all).rnn_min_tokens);
}

TEST(CalibrationLadderTest, VisionTimesFullWhereItCompetes) {
  CalibrationPlan plan = TextPlan(0);
  plan.open_ended = false;
  plan.lengths = {197};  // 224 px
  plan.chunk_length = 197;
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(LongestTimed(timer, Form::kFull, 1), 197);
  EXPECT_EQ(DeriveCalibration(*table).full_max_tokens, 197);
}

TEST(CalibrationLadderTest, FormsOverTheMemoryBudgetAreNeverTimed) {
  CalibrationPlan plan = TextPlan(4096);
  plan.pinned_chunk_size = 64;
  plan.prune = false;
  plan.memory_budget_bytes =
      AttentionMemoryBytes(Form::kFull, plan.dims, kCalibrationBatch, 256, 64);
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  ASSERT_TRUE(MeasureTable(timer, plan, &clock).ok());
  for (const TimedCall& c : timer.calls()) {
    EXPECT_LE(AttentionMemoryBytes(c.form, plan.dims, c.batch, c.length, c.chunk_size),
              plan.memory_budget_bytes);
  }
  EXPECT_EQ(LongestTimed(timer, Form::kFull, kCalibrationBatch), 256);
}

TEST(CalibrationLadderTest, TheChunkSizeIsTheFastestCandidateUnlessPinned) {
  CalibrationPlan plan = TextPlan(1024);
  auto cost = [](Form f, int64_t l, int64_t, int64_t c) {
    return Cost(f, l) + (f == Form::kChunk ? 1e-6 * std::abs(c - 64) : 0.0);
  };
  FakeClock clock;
  FakeFormTimer timer(cost, &clock);
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->chunk_size, 64);
  EXPECT_EQ(table->chunk_sizes.size(), 3u);
  EXPECT_EQ(table->chunk_length, 512);
  plan.pinned_chunk_size = 128;
  FakeFormTimer pinned(cost, &clock);
  table = MeasureTable(pinned, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->chunk_size, 128);
  EXPECT_TRUE(table->chunk_sizes.empty());
  for (const TimedCall& c : pinned.calls()) EXPECT_EQ(c.chunk_size, 128);
}

TEST(CalibrationLadderTest, TheClimbStopsAfterASlowCallOrWhenItsBudgetIsSpent) {
  CalibrationPlan plan = TextPlan(1 << 20);
  plan.prune = false;            // nothing settles: only the limits stop it
  plan.max_call_seconds = 1e-3;  // first passed by the full form at 512: 4 x 2.64e-4 s
  FakeClock clock;
  FakeFormTimer timer([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->batched.back().length, 512);  // the first length with a call over the limit
  plan.max_call_seconds = 1e9;
  plan.climb_budget_seconds = 0.05;
  FakeFormTimer budgeted([](Form f, int64_t l, int64_t, int64_t) { return Cost(f, l); }, &clock);
  table = MeasureTable(budgeted, plan, &clock);
  ASSERT_TRUE(table.ok());
  EXPECT_LT(table->single.back().length, 1 << 20);
  EXPECT_GE(table->single.back().length, 1024);
}

TEST(CalibrationLadderTest, TimerErrorsPropagate) {
  class Failing : public FormTimer {
    absl::StatusOr<double> SecondsPerSequence(Form, int64_t, int64_t, int64_t) override {
      return absl::InternalError("boom");
    }
  } failing;
  FakeClock clock;
  EXPECT_EQ(MeasureTable(failing, TextPlan(64), &clock).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace lion::runtime
