#include "server/runtime/timing_table.h"

#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace lion::runtime {
namespace {

using kernels::Form;

// A row of seconds per sequence; a negative value stands for "not timed".
FormTimes Row(int64_t length, double full, double chunk, double rnn) {
  FormTimes r;
  r.length = length;
  auto opt = [](double t) { return t < 0 ? std::nullopt : std::optional<double>(t); };
  r.seconds = {opt(full), opt(chunk), opt(rnn)};
  return r;
}

TEST(TimingTableTest, NearBestAllowsTheSlackAndNeedsATiming) {
  const FormTimes row = Row(64, 1.04, 1.0, 1.06);
  EXPECT_TRUE(NearBest(row, Form::kFull));   // 4% slower
  EXPECT_TRUE(NearBest(row, Form::kChunk));  // the fastest
  EXPECT_FALSE(NearBest(row, Form::kRnn));   // 6% slower
  EXPECT_FALSE(NearBest(Row(64, -1, 1.0, 2.0), Form::kFull));
  EXPECT_EQ(Row(64, -1, 3.0, 2.0).Best(), 2.0);
  EXPECT_FALSE(Row(64, -1, -1, -1).Best().has_value());
}

TEST(TimingTableTest, FullUpToItsLastNearBestLengthThenRnnFromWhereItStaysBest) {
  const std::vector<FormTimes> rows = {
      Row(32, 1.0, 1.2, 1.3),    // full fastest
      Row(64, 1.03, 1.0, 1.4),   // full within the slack
      Row(128, 1.5, 1.0, 1.2),   // full out; chunk fastest
      Row(256, 2.5, 1.0, 1.04),  // RNN near the best from here on
      Row(512, 5.0, 1.02, 1.0),
      Row(1024, -1, 1.1, 1.0),  // full no longer timed: RNN fastest at the longest length
  };
  const FormThresholds th = DeriveThresholds(rows);
  EXPECT_EQ(th.full_max_tokens, 64);
  EXPECT_EQ(th.rnn_min_tokens, 256);
}

TEST(TimingTableTest, FullStopsAtItsFirstLossEvenIfItWinsLater) {
  // Later wins are noise: the policy's full_max_tokens is one bound.
  const FormThresholds th =
      DeriveThresholds({Row(32, 1.0, 1.2, 1.2), Row(64, 1.2, 1.0, 1.1), Row(128, 1.0, 1.3, 1.3)});
  EXPECT_EQ(th.full_max_tokens, 32);
  EXPECT_EQ(th.rnn_min_tokens, 0);
}

TEST(TimingTableTest, NoRnnUnlessItIsTheFastestAtTheLongestLength) {
  const FormThresholds th =
      DeriveThresholds({Row(32, 2.0, 1.0, 0.5), Row(64, 2.0, 1.0, 0.5), Row(128, 3.0, 1.0, 1.01)});
  EXPECT_EQ(th.full_max_tokens, 0);
  EXPECT_EQ(th.rnn_min_tokens, 0);
}

TEST(TimingTableTest, RnnFromTheFirstLengthCapsFull) {
  // Full and RNN tie everywhere: RNN wins at the longest length, so full must
  // end below where RNN starts.
  const FormThresholds th = DeriveThresholds({Row(17, 1.0, 1.5, 1.0)});
  EXPECT_EQ(th.rnn_min_tokens, 17);
  EXPECT_EQ(th.full_max_tokens, 16);
}

TEST(TimingTableTest, NoRowsGiveNoThresholds) {
  const FormThresholds th = DeriveThresholds({});
  EXPECT_EQ(th.full_max_tokens, 0);
  EXPECT_EQ(th.rnn_min_tokens, 0);
}

TEST(TimingTableTest, FastestChunkSizeFirstOnTiesFallbackWhenEmpty) {
  EXPECT_EQ(FastestChunkSize({{32, 2.0}, {64, 1.0}, {128, 1.0}}, 7), 64);
  EXPECT_EQ(FastestChunkSize({}, 7), 7);
}

TEST(TimingTableTest, DeriveCalibrationUsesEachRegimeAndTheTimedChunkSize) {
  TimingTable table;
  table.chunk_size = 128;
  table.batched = {Row(32, 1.0, 1.5, 2.0), Row(64, 1.0, 1.5, 2.0)};
  table.single = {Row(32, 2.0, 1.5, 1.0), Row(64, 2.0, 1.5, 1.0)};
  const Calibration c = DeriveCalibration(table);
  EXPECT_EQ(c.chunk_size, 128);
  EXPECT_EQ(c.full_max_tokens, 64);
  EXPECT_EQ(c.rnn_min_tokens, 0);
  EXPECT_EQ(c.single.full_max_tokens, 0);
  EXPECT_EQ(c.single.rnn_min_tokens, 32);
}

}  // namespace
}  // namespace lion::runtime
