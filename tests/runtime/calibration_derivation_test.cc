// The calibration from timings to limits, end to end (MeasureTable, then
// DeriveCalibration) on scripted timing tables: every threshold, stop and
// repeat rule of docs/calibration.md is checked at a length the table puts it
// at, with tables chosen so that a plausible wrong rule gives another answer.
// The timer is scripted per (form, length, batch, chunk size) and refuses
// anything unscripted, so timing a form the rules say to skip also fails.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/runtime/calibration_ladder.h"
#include "server/runtime/timing_table.h"
#include "tests/runtime/fake_model.h"
#include "tests/runtime/scripted_form_timer.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr int64_t kBatch = kCalibrationBatch;
constexpr int64_t kChunk = 64;
constexpr double kNone = -1;  // not scripted

// Text plan over `lengths` with the chunk size pinned, and every stop but the
// one a test sets switched off.
CalibrationPlan Plan(std::vector<int64_t> lengths) {
  CalibrationPlan plan;
  plan.lengths = std::move(lengths);
  plan.chunk_length = plan.lengths.back();
  plan.pinned_chunk_size = kChunk;
  plan.dims = AttentionDims{2, 4, 1};
  plan.memory_budget_bytes = std::numeric_limits<int64_t>::max();
  plan.climb_budget_seconds = 1e9;
  plan.max_call_seconds = 1e9;
  return plan;
}

std::vector<int64_t> Lengths(const std::vector<FormTimes>& rows) {
  std::vector<int64_t> out;
  for (const FormTimes& r : rows) out.push_back(r.length);
  return out;
}

struct Times {
  double full, chunk, rnn;
};

// Scripts one regime from a function of the length.
void ScriptRegime(ScriptedFormTimer& timer, const std::vector<int64_t>& lengths, int64_t batch,
                  const std::function<Times(int64_t)>& times) {
  for (int64_t l : lengths) {
    const Times t = times(l);
    timer.Row(l, batch, t.full, t.chunk, t.rnn, kChunk);
  }
}

TEST(CalibrationDerivationTest, CrossoversAreAtTheLengthsTheTableGivesThem) {
  ScriptedFormTimer timer;
  // Batch of 4 (seconds per sequence). Full: fastest to 64, within 5% at
  // 128, out at 256. RNN: within 5% from 256, fastest at 512.
  timer.Row(32, kBatch, 1.0, 2.0, 3.0, kChunk);
  timer.Row(64, kBatch, 2.0, 2.05, 3.0, kChunk);
  timer.Row(128, kBatch, 4.1, 4.0, 5.0, kChunk);
  timer.Row(256, kBatch, 9.0, 8.0, 8.3, kChunk);
  timer.Row(512, kBatch, kNone, 16.0, 15.0, kChunk);  // full never timed past its loss
  // Alone: full wins at 32 only, the RNN form nowhere.
  timer.Row(32, 1, 1.0, 1.2, 1.5, kChunk);
  timer.Row(64, 1, 2.5, 2.0, 3.0, kChunk);
  timer.Row(128, 1, kNone, 3.0, 6.0, kChunk);
  timer.Row(256, 1, kNone, 8.0, 9.0, kChunk);
  timer.Row(512, 1, kNone, 13.0, 20.0, kChunk);
  FakeClock clock;
  auto table = MeasureTable(timer, Plan({32, 64, 128, 256, 512}), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64, 128, 256, 512));
  const Calibration c = DeriveCalibration(*table);
  // Not 64 (the last length where full is strictly the fastest).
  EXPECT_EQ(c.full_max_tokens, 128);
  // Not 512 (where the RNN form is first the fastest): from 256 it stays near.
  EXPECT_EQ(c.rnn_min_tokens, 256);
  EXPECT_EQ(c.chunk_size, kChunk);
  EXPECT_EQ(c.single.full_max_tokens, 32);
  EXPECT_EQ(c.single.rnn_min_tokens, 0);
  EXPECT_EQ(timer.CallsOf(Form::kFull, 512, kBatch), 0);
  EXPECT_EQ(timer.CallsOf(Form::kFull, 128, 1), 0);
}

TEST(CalibrationDerivationTest, TiesCountAsNearBestAndAnRnnTieAtTheEndMakesItTheFastest) {
  ScriptedFormTimer timer;
  // Batched: full ties the chunk form to 64; at 128 the RNN form ties the
  // chunk form, which makes it the fastest there, but it was not near at 64.
  timer.Row(32, kBatch, 1.0, 1.0, 2.0, kChunk);
  timer.Row(64, kBatch, 2.0, 2.0, 3.0, kChunk);
  timer.Row(128, kBatch, 5.0, 4.0, 4.0, kChunk);
  // Alone: all three forms tie everywhere. RNN from the first length; full
  // would run to 128 but must end below where RNN starts.
  ScriptRegime(timer, {32, 64, 128}, 1, [](int64_t l) {
    const double t = l == 64 ? 2.5 * 32 : l;  // per-token cost moves, so nothing settles
    return Times{t, t, t};
  });
  FakeClock clock;
  auto table = MeasureTable(timer, Plan({32, 64, 128}), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  const Calibration c = DeriveCalibration(*table);
  EXPECT_EQ(c.full_max_tokens, 64);
  EXPECT_EQ(c.rnn_min_tokens, 128);
  EXPECT_EQ(c.single.rnn_min_tokens, 32);
  EXPECT_EQ(c.single.full_max_tokens, 31);
}

TEST(CalibrationDerivationTest, AFormThatNeverWinsGetsNoRangeAndFullIsDroppedAtItsFirstLoss) {
  const std::vector<int64_t> lengths = {32, 64, 128, 256};
  // Seconds per sequence that grow unevenly with the length (x2.5, x1.6,
  // x2.5), so the linear forms never settle and every length is timed.
  auto grow = [](int64_t l) { return l == 32 ? 1.0 : l == 64 ? 2.5 : l == 128 ? 4.0 : 10.0; };
  ScriptedFormTimer timer;
  // Batched: full 10% slower at 32, never timed again; chunk always fastest.
  ScriptRegime(timer, lengths, kBatch, [&](int64_t l) {
    return Times{l == 32 ? 1.1 : kNone, grow(l), 1.5 * grow(l)};
  });
  // Alone: RNN always fastest, chunk never near it.
  ScriptRegime(timer, lengths, 1, [&](int64_t l) {
    return Times{l == 32 ? 3.0 : kNone, 2.0 * grow(l), grow(l)};
  });
  FakeClock clock;
  auto table = MeasureTable(timer, Plan(lengths), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAreArray(lengths));
  const Calibration c = DeriveCalibration(*table);
  EXPECT_EQ(c.full_max_tokens, 0);
  EXPECT_EQ(c.rnn_min_tokens, 0);
  EXPECT_EQ(c.single.full_max_tokens, 0);
  EXPECT_EQ(c.single.rnn_min_tokens, 32);
  EXPECT_EQ(timer.CallsOf(Form::kFull, 32, kBatch), 3);  // the minimum rounds
  EXPECT_EQ(timer.CallsOf(Form::kFull, 64, kBatch), 0);
}

// On a loaded machine the chunk form's first samples at 64 are inflated: with
// only three rounds full would look fastest there. Confirmation goes on until
// the chunk form's best is met again within 5%.
TEST(CalibrationDerivationTest, NoisyFirstSamplesAreNotTakenAsTheBest) {
  auto script = [](ScriptedFormTimer& timer) {
    timer.Row(32, kBatch, 1.0, 1.2, 2.0, kChunk);
    timer.Script(Form::kFull, 64, kBatch, {2.3});
    timer.Script(Form::kChunk, 64, kBatch, {3.0, 2.8, 2.6, 2.0, 2.0, 2.0}, kChunk);
    timer.Script(Form::kRnn, 64, kBatch, {3.0});
    timer.Row(32, 1, 1.0, 1.2, 2.0, kChunk);
    timer.Row(64, 1, 2.3, 2.0, 3.0, kChunk);
  };
  ScriptedFormTimer timer;
  script(timer);
  FakeClock clock;
  auto table = MeasureTable(timer, Plan({32, 64}), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(timer.CallsOf(Form::kChunk, 64, kBatch), 5);  // 2.6 unconfirmed, 2.0 once, then twice
  EXPECT_DOUBLE_EQ(*table->batched[1].Of(Form::kChunk), 2.0);
  EXPECT_EQ(DeriveCalibration(*table).full_max_tokens, 32);
  EXPECT_EQ(DeriveCalibration(*table).single.full_max_tokens, 32);

  // The same table without confirmation rounds is fooled: the test can tell.
  ScriptedFormTimer unconfirmed;
  script(unconfirmed);
  CalibrationPlan three_rounds = Plan({32, 64});
  three_rounds.max_rounds = 3;
  table = MeasureTable(unconfirmed, three_rounds, &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(DeriveCalibration(*table).full_max_tokens, 64);
}

TEST(CalibrationDerivationTest, RoundsStopAtEightEvenIfNeverConfirmed) {
  ScriptedFormTimer timer;
  timer.Script(Form::kFull, 32, kBatch, {1.0});
  timer.Script(Form::kChunk, 32, kBatch, {9, 8, 7, 6, 5, 4, 3, 2, 1}, kChunk);  // 12%+ apart
  timer.Script(Form::kRnn, 32, kBatch, {1.5});
  timer.Row(32, 1, 1.0, 1.2, 2.0, kChunk);
  FakeClock clock;
  auto table = MeasureTable(timer, Plan({32}), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(timer.CallsOf(Form::kChunk, 32, kBatch), 8);
  EXPECT_EQ(timer.CallsOf(Form::kChunk, 32, 1), 3);
  EXPECT_DOUBLE_EQ(*table->batched[0].Of(Form::kChunk), 2.0);
}

// Each regime has its own 2 s, counted with the injected clock (0.1 s per
// call here), and checked after each length; past it, no rounds beyond three.
TEST(CalibrationDerivationTest, TheTimeBudgetStopsEachRegimeOnItsOwn) {
  const std::vector<int64_t> lengths = GeometricLadder(4096);
  CalibrationPlan plan = Plan(lengths);
  plan.prune = false;  // nothing settles: only the budget stops the climb
  plan.climb_budget_seconds = 2.0;
  FakeClock clock;
  ScriptedFormTimer stepped(&clock, std::chrono::milliseconds(100));
  auto times = [](int64_t l) {
    const double t = static_cast<double>(l);
    return Times{t, 1.1 * t, 1.2 * t};
  };
  ScriptRegime(stepped, lengths, 1, times);
  ScriptRegime(stepped, lengths, kBatch, times);
  // Batched, 32: the chunk form needs five rounds (1.5 s in all); 64 takes
  // 0.9 s more and passes the budget, so the batched climb ends there. 128
  // would have stopped at three rounds although unconfirmed.
  stepped.Script(Form::kChunk, 32, kBatch, {100, 90, 80, 35.2, 35.2}, kChunk);
  auto table = MeasureTable(stepped, plan, &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(stepped.CallsOf(Form::kChunk, 32, kBatch), 5);
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64));
  // Alone: three rounds of three forms per length, 0.9 s each: over 2 s
  // after 128.
  EXPECT_THAT(Lengths(table->single), ElementsAre(32, 64, 128));

  // An unconfirmed best past the budget: three rounds only.
  FakeClock clock2;
  ScriptedFormTimer late(&clock2, std::chrono::milliseconds(100));
  ScriptRegime(late, lengths, 1, times);
  ScriptRegime(late, lengths, kBatch, times);
  late.Script(Form::kChunk, 128, kBatch, {300, 250, 200, 140.8}, kChunk);
  table = MeasureTable(late, plan, &clock2);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64, 128));
  EXPECT_EQ(late.CallsOf(Form::kChunk, 128, kBatch), 3);
  EXPECT_DOUBLE_EQ(*table->batched[2].Of(Form::kChunk), 200);
}

// The slow-call stop looks at a whole call (the batch), not one sequence.
TEST(CalibrationDerivationTest, ASlowWholeBatchCallEndsTheBatchedClimbOnly) {
  const std::vector<int64_t> lengths = GeometricLadder(4096);
  CalibrationPlan plan = Plan(lengths);
  plan.prune = false;
  plan.max_call_seconds = 0.1;
  ScriptedFormTimer timer;
  // Full at 256: 0.03 s per sequence, 0.12 s for a batch of 4.
  auto times = [](int64_t l) {
    return Times{l >= 256 ? 0.03 * static_cast<double>(l) / 256 : 1e-3, 2e-3, 3e-3};
  };
  ScriptRegime(timer, {32, 64, 128, 256}, kBatch, times);
  ScriptRegime(timer, {32, 64, 128}, 1, times);
  ScriptRegime(timer, {256, 512, 1024, 2048}, 1, [](int64_t) { return Times{0.03, 2e-3, 3e-3}; });
  timer.Row(4096, 1, 0.2, 2e-3, 3e-3, kChunk);
  FakeClock clock;
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64, 128, 256));
  EXPECT_THAT(Lengths(table->single), ElementsAreArray(lengths));  // 0.03 s alone: on it goes
}

// Cost per token (seconds per sequence / length) of the chunk and RNN forms.
struct PerToken {
  double chunk, rnn;
};

TEST(CalibrationDerivationTest, TheClimbStopsOnceTheLinearFormsSettleWithTheSameWinner) {
  const std::vector<int64_t> lengths = GeometricLadder(4096);
  auto script = [&](ScriptedFormTimer& timer, const std::map<int64_t, PerToken>& per_token) {
    for (int64_t batch : {kBatch, int64_t{1}}) {
      for (const auto& [l, p] : per_token) {
        const double len = static_cast<double>(l);
        // Full: fastest at 32, far out at 64 (the climb may stop only once it is out).
        timer.Row(l, batch,
                  l == 32   ? 0.5
                  : l == 64 ? 10.0
                            : kNone,
                  p.chunk * len, p.rnn * len, kChunk);
      }
    }
  };
  // Chunk per token moves 15% from 64 to 128, then 6%; RNN 0% then 3%, the
  // chunk form the faster: settled at 256.
  ScriptedFormTimer settles;
  script(settles,
         {{32, {0.034, 0.06}}, {64, {0.02, 0.03}}, {128, {0.017, 0.03}}, {256, {0.016, 0.029}}});
  FakeClock clock;
  auto table = MeasureTable(settles, Plan(lengths), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64, 128, 256));
  EXPECT_THAT(Lengths(table->single), ElementsAre(32, 64, 128, 256));

  // Both within 10% from 128 to 256, but the winner changes (chunk, then
  // RNN): not settled until 512.
  ScriptedFormTimer flips;
  script(flips, {{32, {0.034, 0.06}},
                 {64, {0.02, 0.03}},
                 {128, {0.017, 0.0175}},
                 {256, {0.0165, 0.016}},
                 {512, {0.0165, 0.016}}});
  table = MeasureTable(flips, Plan(lengths), &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(Lengths(table->batched), ElementsAre(32, 64, 128, 256, 512));
  // RNN fastest at the longest length timed, within 5% from 128 (2.24 s
  // against the chunk form's 2.176 s), not at 64.
  EXPECT_EQ(DeriveCalibration(*table).rnn_min_tokens, 128);
  EXPECT_EQ(DeriveCalibration(*table).full_max_tokens, 32);
}

// On the CPU a form over the memory budget is never timed and so never
// chosen: full's memory grows with the batch, so the budget cuts it at a
// shorter length for the batched regime than for a lone request.
TEST(CalibrationDerivationTest, TheMemoryBudgetCapsFullPerRegime) {
  const std::vector<int64_t> lengths = {32, 64, 128, 256, 512, 1024};
  CalibrationPlan plan = Plan(lengths);
  auto fits = [&](Form f, int64_t batch, int64_t length) {
    return AttentionMemoryBytes(f, plan.dims, batch, length, kChunk) <= plan.memory_budget_bytes;
  };
  // Full alone fits at every length; batched it does not at the longest.
  plan.memory_budget_bytes = AttentionMemoryBytes(Form::kFull, plan.dims, 1, 1024, kChunk);
  // The longest length up to which full fits, per regime.
  auto fits_to = [&](int64_t batch) {
    int64_t last = 0;
    for (int64_t l : lengths) {
      if (!fits(Form::kFull, batch, l)) break;
      last = l;
    }
    return last;
  };
  ASSERT_EQ(fits_to(1), 1024);
  ASSERT_LT(fits_to(kBatch), 1024);
  ASSERT_GT(fits_to(kBatch), 0);
  // Full the fastest wherever it fits; a form over the budget is unscripted,
  // so timing it fails the test.
  ScriptedFormTimer timer;
  for (int64_t batch : {kBatch, int64_t{1}}) {
    for (int64_t l : lengths) {
      const double t = static_cast<double>(l);
      timer.Row(l, batch, fits(Form::kFull, batch, l) ? t : kNone,
                fits(Form::kChunk, batch, l) ? 2 * t : kNone,
                fits(Form::kRnn, batch, l) ? 3 * t : kNone, kChunk);
    }
  }
  FakeClock clock;
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  const Calibration c = DeriveCalibration(*table);
  EXPECT_EQ(c.full_max_tokens, fits_to(kBatch));
  EXPECT_EQ(c.single.full_max_tokens, 1024);
  // Where the chunk form is over the budget too, the RNN form alone is timed
  // at the longest length: the fastest there.
  EXPECT_EQ(c.rnn_min_tokens, fits(Form::kChunk, kBatch, 1024) ? 0 : 1024);
  EXPECT_EQ(c.single.rnn_min_tokens, 0);

  // The plan: the flag's budget on the CPU; none on a GPU (every CUDA form
  // is O(L) and the budget there comes from free memory at start-up).
  config::FormOptions flags;
  flags.memory_budget_bytes = 4096;
  ModelDescription d = FakeModel::Describe("m", "mlm");
  EXPECT_EQ(PlanFor(d, 1024, flags).memory_budget_bytes, 4096);
  d.device = "cuda:0";
  EXPECT_EQ(PlanFor(d, 1024, flags).memory_budget_bytes, std::numeric_limits<int64_t>::max());
}

TEST(CalibrationDerivationTest, TheRowsAreTimedWithTheFastestChunkSizeFirstOnTies) {
  CalibrationPlan plan = Plan({32, 512});
  plan.pinned_chunk_size = 0;
  plan.chunk_length = 512;
  ScriptedFormTimer timer;
  timer.Script(Form::kChunk, 512, kBatch, {1.0}, 32);
  timer.Script(Form::kChunk, 512, kBatch, {0.8}, 64);
  timer.Script(Form::kChunk, 512, kBatch, {0.8}, 128);
  // The climb's rows: scripted at chunk size 64 only.
  for (int64_t batch : {kBatch, int64_t{1}}) {
    timer.Row(32, batch, 0.01, 0.02, 0.03, 64);
    timer.Row(512, batch, 5.0, 0.8, 0.9, 64);
  }
  FakeClock clock;
  auto table = MeasureTable(timer, plan, &clock);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->chunk_size, 64);
  EXPECT_EQ(DeriveCalibration(*table).chunk_size, 64);
  ASSERT_EQ(table->chunk_sizes.size(), 3u);
  EXPECT_DOUBLE_EQ(table->chunk_sizes[0].seconds, 1.0);
}

}  // namespace
}  // namespace lion::runtime
