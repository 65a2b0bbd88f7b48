#include "client/retry_policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace lion::client {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, BackoffGrowsExponentiallyAndIsCapped) {
  RetryPolicy p{.max_attempts = 6,
                .initial_backoff = milliseconds(10),
                .max_backoff = milliseconds(50),
                .multiplier = 2.0};
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_EQ(p.BackoffBefore(1), milliseconds(10));
  EXPECT_EQ(p.BackoffBefore(2), milliseconds(20));
  EXPECT_EQ(p.BackoffBefore(3), milliseconds(40));
  EXPECT_EQ(p.BackoffBefore(4), milliseconds(50));
  EXPECT_EQ(p.BackoffBefore(10), milliseconds(50));
}

TEST(RetryPolicyTest, ValidateRejectsNonsense) {
  EXPECT_FALSE(RetryPolicy{.max_attempts = 0}.Validate().ok());
  EXPECT_FALSE((RetryPolicy{.initial_backoff = milliseconds(10), .max_backoff = milliseconds(5)}
                    .Validate()
                    .ok()));
  EXPECT_FALSE(RetryPolicy{.multiplier = 0.5}.Validate().ok());
}

// Runs RunWithRetry against a scripted sequence of statuses on a fake clock.
struct Script {
  FakeClock clock;
  std::vector<absl::Status> results;
  std::vector<Duration> sleeps;
  int calls = 0;

  absl::Status Run(const RetryPolicy& policy, Duration budget) {
    return RunWithRetry(
        policy, clock.Now() + budget, clock,
        [this](Duration d) {
          sleeps.push_back(d);
          clock.Advance(d);
        },
        [this] { return results[std::min<size_t>(calls++, results.size() - 1)]; });
  }
};

TEST(RetryPolicyTest, RetriesUnavailableUntilSuccess) {
  Script s;
  s.results = {absl::UnavailableError("down"), absl::UnavailableError("down"), absl::OkStatus()};
  RetryPolicy p{
      .max_attempts = 5, .initial_backoff = milliseconds(10), .max_backoff = milliseconds(100)};
  EXPECT_TRUE(s.Run(p, std::chrono::seconds(10)).ok());
  EXPECT_EQ(s.calls, 3);
  EXPECT_EQ(s.sleeps, (std::vector<Duration>{milliseconds(10), milliseconds(20)}));
}

TEST(RetryPolicyTest, StopsAfterMaxAttempts) {
  Script s;
  s.results = {absl::UnavailableError("down")};
  RetryPolicy p{
      .max_attempts = 3, .initial_backoff = milliseconds(1), .max_backoff = milliseconds(1)};
  const absl::Status st = s.Run(p, std::chrono::seconds(10));
  EXPECT_TRUE(absl::IsUnavailable(st));
  EXPECT_EQ(st.message(), "down");
  EXPECT_EQ(s.calls, 3);
}

TEST(RetryPolicyTest, NeverRetriesOtherCodes) {
  for (const absl::Status& err :
       {absl::InvalidArgumentError("bad"), absl::DeadlineExceededError("late"),
        absl::ResourceExhaustedError("full"), absl::InternalError("boom")}) {
    Script s;
    s.results = {err, absl::OkStatus()};
    EXPECT_EQ(s.Run(RetryPolicy{.max_attempts = 5}, std::chrono::seconds(10)), err);
    EXPECT_EQ(s.calls, 1);
  }
}

TEST(RetryPolicyTest, BackoffNeverOutlivesTheDeadline) {
  Script s;
  s.results = {absl::UnavailableError("down")};
  RetryPolicy p{
      .max_attempts = 10, .initial_backoff = milliseconds(40), .max_backoff = milliseconds(1000)};
  EXPECT_TRUE(absl::IsUnavailable(s.Run(p, milliseconds(100))));
  // 40 ms fits (t = 40), the next 80 ms would end at 120 > 100: two attempts.
  EXPECT_EQ(s.calls, 2);
}

}  // namespace
}  // namespace lion::client
