#include "client/rate_limiter.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lion::client {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiterTest, RejectsBadRates) {
  EXPECT_FALSE(RateLimiter::Create(0, TimePoint{}).ok());
  EXPECT_FALSE(RateLimiter::Create(-5, TimePoint{}).ok());
  EXPECT_FALSE(RateLimiter::Create(1.0 / 0.0, TimePoint{}).ok());
}

TEST(RateLimiterTest, SlotsFollowTheSchedule) {
  FakeClock clock;
  auto limiter = RateLimiter::Create(100, clock.Now());  // one slot every 10 ms
  ASSERT_TRUE(limiter.ok());
  EXPECT_TRUE(limiter->TryAcquire(clock.Now()));  // slot 0 is due at the start
  EXPECT_FALSE(limiter->TryAcquire(clock.Now()));
  EXPECT_EQ(limiter->NextDue() - clock.Now(), milliseconds(10));
  clock.Advance(milliseconds(9));
  EXPECT_FALSE(limiter->TryAcquire(clock.Now()));
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(limiter->TryAcquire(clock.Now()));
  EXPECT_EQ(limiter->acquired(), 2);
}

TEST(RateLimiterTest, OpenLoopCatchesUpAfterALateWakeUp) {
  FakeClock clock;
  const TimePoint start = clock.Now();
  auto limiter = RateLimiter::Create(1000, start);
  ASSERT_TRUE(limiter.ok());
  clock.Advance(milliseconds(50));  // the caller slept through 50 ms
  int granted = 0;
  while (limiter->TryAcquire(clock.Now())) ++granted;
  EXPECT_EQ(granted, 51);  // slots at 0, 1, ..., 50 ms
  EXPECT_EQ(limiter->NextDue() - start, milliseconds(51));
}

TEST(RateLimiterTest, OneSecondAtAFractionalRateHasNoDrift) {
  FakeClock clock;
  const TimePoint start = clock.Now();
  auto limiter = RateLimiter::Create(333.0, start);
  ASSERT_TRUE(limiter.ok());
  // Step the fake clock in 1 ms ticks for 3 s: exactly 3 * 333 slots fall in
  // [0, 3 s), plus the one due at 3 s itself.
  for (int ms = 0; ms <= 3000; ++ms) {
    while (limiter->TryAcquire(clock.Now())) {
    }
    if (ms < 3000) clock.Advance(milliseconds(1));
  }
  EXPECT_EQ(limiter->acquired(), 3 * 333 + 1);
}

}  // namespace
}  // namespace lion::client
