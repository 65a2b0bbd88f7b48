// The load generator against the fake server, whose per-request delays are
// known: the measured percentiles must sit just above the applied delays'
// percentiles (loopback overhead only), and the open loop must hold its rate.
#include "client/load_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "client/bench_target.h"
#include "client/lion_client.h"
#include "tests/client/fake_inference_server.h"

namespace lion::client {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Uniform 5..50 ms, deterministic per request index. Delays of tens of ms
// keep the scheduling noise of a busy 2-core machine small beside them.
microseconds UniformDelay(int64_t n) {
  std::mt19937_64 rng(static_cast<uint64_t>(n) * 7919 + 1);
  return microseconds(std::uniform_int_distribution<int>(5000, 50000)(rng));
}

double PercentileOf(std::vector<double> v, double q) {
  LatencyStats s;
  for (double x : v) s.Add(x);
  return s.Percentile(q);
}

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void StartServer(const testing::FakeServerOptions& options) {
    server_ = testing::FakeInferenceServer::Start(options);
    ASSERT_NE(server_, nullptr);
    auto client = LionClient::Create({.address = server_->address()});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    auto texts = TextSource::Create("uniform:4:16", 1);
    ASSERT_TRUE(texts.ok());
    texts_ = std::move(*texts);
    auto issue = MakeBenchIssuer({.method = "embed"}, client_.get(), texts_.get());
    ASSERT_TRUE(issue.ok()) << issue.status();
    issue_ = *issue;
  }

  // Measured latency = applied delay + overhead (loopback, scheduling): never
  // below the delay's percentile, and at most a few ms above it (8 ms leaves
  // room for a machine running other tests on every core).
  void ExpectLatenciesTrackDelays(const LoadReport& report) {
    const std::vector<double> delays = server_->delays_us();
    for (double q : {0.5, 0.9, 0.95}) {
      const double want = PercentileOf(delays, q);
      const double got = report.latency_us.Percentile(q);
      EXPECT_GE(got, want - 500) << "q=" << q;
      EXPECT_LE(got, want + std::max(8000.0, 0.15 * want)) << "q=" << q;
    }
    // And the applied delays are the known distribution: uniform 5..50 ms.
    EXPECT_NEAR(PercentileOf(delays, 0.5), 27500, 3000);
    EXPECT_NEAR(PercentileOf(delays, 0.9), 45500, 2000);
  }

  std::unique_ptr<testing::FakeInferenceServer> server_;
  std::unique_ptr<LionClient> client_;
  std::unique_ptr<TextSource> texts_;
  IssueFn issue_;
};

TEST_F(LoadGeneratorTest, ClosedLoopPercentilesAndUsage) {
  StartServer({.delay = UniformDelay});
  LoadOptions o{.concurrency = 4, .duration = milliseconds(10000), .requests = 200};
  auto report = RunLoad(o, issue_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->mode, "concurrency");
  EXPECT_EQ(report->sent, 200);
  EXPECT_EQ(report->completed, 200);
  EXPECT_EQ(report->codes, (std::map<int, int64_t>{{0, 200}}));
  EXPECT_LE(server_->max_in_flight(), 4);
  ExpectLatenciesTrackDelays(*report);
  // Usage is averaged exactly from what the server reported.
  const std::vector<double> delays = server_->delays_us();
  const double mean = std::accumulate(delays.begin(), delays.end(), 0.0) / delays.size();
  EXPECT_EQ(report->usage_count, 200);
  EXPECT_NEAR(report->avg_total_us, mean, 1e-6);
  EXPECT_NEAR(report->avg_queue_us + report->avg_compute_us, mean, 1e-6);
  // Little's law: throughput ~ concurrency / mean latency.
  EXPECT_NEAR(report->throughput, 4 / (report->latency_us.Mean() * 1e-6),
              0.15 * report->throughput);
}

TEST_F(LoadGeneratorTest, OpenLoopHoldsTheRequestedRate) {
  StartServer({.delay = UniformDelay, .fail_every = 10});
  LoadOptions o{.rate = 200, .duration = milliseconds(10000), .requests = 300};
  auto report = RunLoad(o, issue_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->mode, "rate");
  EXPECT_EQ(report->sent, 300);
  EXPECT_EQ(report->skipped, 0);
  EXPECT_NEAR(report->throughput, 200, 20);  // within 10%
  // Every 10th request is RESOURCE_EXHAUSTED (8); only OK ones are timed.
  EXPECT_EQ(report->codes, (std::map<int, int64_t>{{0, 270}, {8, 30}}));
  EXPECT_EQ(report->latency_us.count(), 270u);
  EXPECT_EQ(report->usage_count, 270);
  ExpectLatenciesTrackDelays(*report);
}

TEST_F(LoadGeneratorTest, OpenLoopSkipsWhenTheInFlightCapIsReached) {
  // 20 ms per request with one allowed in flight caps the sent rate at
  // ~50/s; the other due slots of a 200/s schedule are skipped, not queued.
  StartServer({.delay = [](int64_t) { return microseconds(20000); }});
  LoadOptions o{.rate = 200, .max_in_flight = 1, .duration = milliseconds(500)};
  auto report = RunLoad(o, issue_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(server_->max_in_flight(), 1);
  EXPECT_GT(report->skipped, 50);
  EXPECT_LE(report->sent, 26);
  // Every slot of [0, 0.5 s) is either sent or skipped (a dispatcher woken
  // late at the end may lose the last few).
  EXPECT_LE(report->sent + report->skipped, 100);
  EXPECT_GE(report->sent + report->skipped, 95);
}

TEST_F(LoadGeneratorTest, WarmUpIsSentButNotMeasured) {
  StartServer({.delay = [](int64_t) { return microseconds(2000); }});
  LoadOptions o{.concurrency = 2, .warmup = milliseconds(200), .duration = milliseconds(200)};
  std::vector<LoadProgress> progress;
  o.progress_interval = milliseconds(100);
  o.on_progress = [&](const LoadProgress& p) { progress.push_back(p); };
  auto report = RunLoad(o, issue_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->sent, 20);
  EXPECT_GT(server_->requests(), report->sent + 20);  // the warm-up's requests
  EXPECT_EQ(report->completed, report->sent);
  // The measured window is the 200 ms asked for, without the warm-up's: it
  // ends at the last completion, about when the duration is up (a slot that
  // frees just before the end starts nothing). The upper bound is loose: a
  // loaded machine delays the last answers.
  EXPECT_GE(report->elapsed_s, 0.19);
  EXPECT_LT(report->elapsed_s, 0.4);
  ASSERT_GE(progress.size(), 3u);
  EXPECT_TRUE(progress.front().warming_up);
  EXPECT_FALSE(progress.back().warming_up);
  EXPECT_GT(progress.back().recent_rate, 0);
}

TEST(LoadOptionsTest, ExactlyOneModeAndBounds) {
  EXPECT_FALSE(LoadOptions{}.Validate().ok());
  EXPECT_FALSE((LoadOptions{.concurrency = 2, .rate = 5}).Validate().ok());
  EXPECT_TRUE((LoadOptions{.concurrency = 2}).Validate().ok());
  EXPECT_FALSE((LoadOptions{.rate = 5, .duration = milliseconds(0)}).Validate().ok());
  EXPECT_FALSE((LoadOptions{.rate = 5, .requests = -1}).Validate().ok());
}

}  // namespace
}  // namespace lion::client
