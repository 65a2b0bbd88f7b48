#include "cpu/fast_exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lion::kernels::internal {
namespace {

TEST(FastExpTest, MatchesStdExpOnNonPositiveRange) {
  double worst = 0.0;
  for (double x = -87.0; x <= 0.0; x += 1.0 / 1024.0) {
    const double want = std::exp(x);
    const double got = ExpNonPositive(static_cast<float>(x));
    worst = std::max(worst, std::abs(got - std::exp(static_cast<double>(static_cast<float>(x)))) / want);
  }
  EXPECT_LT(worst, 3e-7);
}

TEST(FastExpTest, EdgesAndVectorForm) {
  EXPECT_EQ(ExpNonPositive(0.0f), 1.0f);
  EXPECT_EQ(ExpNonPositive(-1000.0f), 0.0f);
  EXPECT_EQ(ExpNonPositive(-INFINITY), 0.0f);
  std::vector<float> x = {0.0f, -1.0f, -20.0f, -200.0f};
  ExpNonPositive(x.data(), x.data(), static_cast<int64_t>(x.size()));
  EXPECT_FLOAT_EQ(x[1], std::exp(-1.0f));
  EXPECT_FLOAT_EQ(x[2], std::exp(-20.0f));
  EXPECT_EQ(x[3], 0.0f);
}

// A NaN exponent (attention inputs that overflowed) must come out as NaN, so
// that it can be detected downstream, and must not be converted to an integer
// on the way: float-to-int of NaN is undefined behaviour, which the UBSan
// builds (scripts/sanitize, the fuzz build) report as a failure of this test.
// Found by tests/fuzz/request_fuzzer: finite pixels of 4.5e30 sent to
// lion-digits (tests/fuzz/regressions/request_fuzzer/huge_finite_pixel_nan_exp).
TEST(FastExpTest, NanPropagatesWithoutUndefinedBehaviour) {
  EXPECT_TRUE(std::isnan(ExpNonPositive(NAN)));
  std::vector<float> x = {-1.0f, NAN, 0.0f};
  ExpNonPositive(x.data(), x.data(), static_cast<int64_t>(x.size()));
  EXPECT_FLOAT_EQ(x[0], std::exp(-1.0f));
  EXPECT_TRUE(std::isnan(x[1]));
  EXPECT_EQ(x[2], 1.0f);
}

}  // namespace
}  // namespace lion::kernels::internal
