#include "client/latency_stats.h"

#include <gtest/gtest.h>

namespace lion::client {
namespace {

TEST(LatencyStatsTest, EmptyIsZero) {
  LatencyStats s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.Percentile(0.5), 0.0);
  EXPECT_EQ(s.Mean(), 0.0);
  EXPECT_EQ(s.Max(), 0.0);
}

// Reference values from numpy.percentile (method "linear").
TEST(LatencyStatsTest, MatchesNumpyLinearPercentiles) {
  LatencyStats s;
  for (double v : {7, 1, 3, 9, 5, 2, 8}) s.Add(v);
  EXPECT_DOUBLE_EQ(s.Percentile(0.0), 1.0);
  EXPECT_DOUBLE_EQ(s.Percentile(0.5), 5.0);
  EXPECT_NEAR(s.Percentile(0.90), 8.4, 1e-12);
  EXPECT_NEAR(s.Percentile(0.95), 8.7, 1e-12);
  EXPECT_NEAR(s.Percentile(0.99), 8.94, 1e-12);
  EXPECT_DOUBLE_EQ(s.Percentile(1.0), 9.0);
  EXPECT_DOUBLE_EQ(s.Mean(), 5.0);
  EXPECT_DOUBLE_EQ(s.Min(), 1.0);
  EXPECT_DOUBLE_EQ(s.Max(), 9.0);
}

TEST(LatencyStatsTest, OneToHundred) {
  LatencyStats s;
  for (int v = 100; v >= 1; --v) s.Add(v);
  EXPECT_NEAR(s.Percentile(0.50), 50.5, 1e-9);
  EXPECT_NEAR(s.Percentile(0.90), 90.1, 1e-9);
  EXPECT_NEAR(s.Percentile(0.99), 99.01, 1e-9);
}

TEST(LatencyStatsTest, AddAfterQueryAndMerge) {
  LatencyStats a;
  a.Add(10);
  EXPECT_DOUBLE_EQ(a.Percentile(0.5), 10);
  a.Add(0);  // out of order after a sorted query
  LatencyStats b;
  b.Add(20);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_DOUBLE_EQ(a.Percentile(0.5), 10);
  EXPECT_DOUBLE_EQ(a.Min(), 0);
  EXPECT_DOUBLE_EQ(a.Max(), 20);
  EXPECT_DOUBLE_EQ(a.Mean(), 10);
  // Out-of-range q is clamped.
  EXPECT_DOUBLE_EQ(a.Percentile(-1), 0);
  EXPECT_DOUBLE_EQ(a.Percentile(2), 20);
}

}  // namespace
}  // namespace lion::client
