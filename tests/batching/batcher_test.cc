#include "server/batching/batcher.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::batching {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

// Records dispatched batches and completions; waits are bounded.
class Harness {
 public:
  explicit Harness(config::BatchingOptions limits, bool wait_for_idle_runner = false)
      : metrics_({"t", "t", "t"}) {
    metrics_.AddModel({"m", "lion_bert", "lit", "mlm", "cpu"});
    auto batcher = Batcher::Create({"m", limits, wait_for_idle_runner}, &clock_, &metrics_,
                                   [this](runtime::Batch b) {
      std::lock_guard<std::mutex> lock(mu_);
      std::vector<int64_t> lengths;
      for (auto& r : b) lengths.push_back(r->length);
      batches_.push_back(lengths);
      cv_.notify_all();
    });
    EXPECT_TRUE(batcher.ok()) << batcher.status();
    batcher_ = std::move(*batcher);
  }
  // Stop first: stopping completes leftover requests, whose callbacks write
  // into members that are destroyed before batcher_ would be (ASan found it).
  ~Harness() {
    if (batcher_) batcher_->Stop();
  }

  std::unique_ptr<runtime::Request> Make(int64_t length,
                                         TimePoint deadline = TimePoint::max()) {
    auto r = std::make_unique<runtime::Request>();
    r->length = length;
    r->deadline = deadline;
    r->done = [this, length](absl::StatusOr<runtime::Result> result) {
      std::lock_guard<std::mutex> lock(mu_);
      completions_.emplace_back(length, result.status());
      cv_.notify_all();
    };
    return r;
  }

  bool WaitBatches(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return batches_.size() >= n; });
  }
  bool WaitCompletions(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return completions_.size() >= n; });
  }
  std::vector<std::vector<int64_t>> batches() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  std::vector<std::pair<int64_t, absl::Status>> completions() {
    std::lock_guard<std::mutex> lock(mu_);
    return completions_;
  }

  FakeClock clock_{TimePoint{} + std::chrono::hours(1)};
  metrics::Metrics metrics_;
  std::unique_ptr<Batcher> batcher_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<int64_t>> batches_;
  std::vector<std::pair<int64_t, absl::Status>> completions_;
};

config::BatchingOptions Limits(int64_t size, int64_t delay_us, int64_t queue = 100,
                               int64_t queue_tokens = 1 << 20) {
  config::BatchingOptions o;
  o.max_batch_tokens = 10000;
  o.max_batch_size = size;
  o.max_queue_delay_us = delay_us;
  o.max_queue_size = queue;
  o.max_queue_tokens = queue_tokens;
  return o;
}

TEST(BatcherTest, FullBatchGoesWithoutWaitingInArrivalOrder) {
  Harness h(Limits(3, 1000000));
  for (int64_t len : {5, 6, 7, 8}) ASSERT_TRUE(h.batcher_->Submit(h.Make(len)).ok());
  ASSERT_TRUE(h.WaitBatches(1));
  EXPECT_EQ(h.batches()[0], (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(h.batcher_->depth(), 1);
}

// Both arrive at one fake instant; the delay is 2 ms. One microsecond before
// it runs out the batcher (once it has looked at the queue at that time) holds
// them; at 2 ms it sends them as one batch.
TEST(BatcherTest, PartialBatchGoesWhenTheDelayExpiresAndNotBefore) {
  Harness h(Limits(8, 2000));
  ASSERT_TRUE(h.batcher_->Submit(h.Make(5)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(6)).ok());
  h.clock_.Advance(std::chrono::microseconds(1999));
  h.batcher_->Wake();
  ASSERT_TRUE(h.batcher_->WaitUntilIdleAt(h.clock_.Now(), absl::Seconds(5)));
  EXPECT_TRUE(h.batches().empty());
  EXPECT_EQ(h.batcher_->depth(), 2);
  h.clock_.Advance(std::chrono::microseconds(1));
  h.batcher_->Wake();
  ASSERT_TRUE(h.batcher_->WaitUntilIdleAt(h.clock_.Now(), absl::Seconds(5)));
  ASSERT_EQ(h.batches().size(), 1u);
  EXPECT_EQ(h.batches()[0], (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(h.batcher_->depth(), 0);
}

TEST(BatcherTest, QueueFullIsResourceExhaustedAtOnce) {
  Harness h(Limits(8, 1000000, /*queue=*/2));
  ASSERT_TRUE(h.batcher_->Submit(h.Make(1)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(2)).ok());
  absl::Status s = h.batcher_->Submit(h.Make(3));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("max_queue_size=2"));
  EXPECT_THAT(h.metrics_.Serialize(),
              HasSubstr("lion_rejected_total{model=\"m\",reason=\"overloaded\"} 1"));
  EXPECT_THAT(h.metrics_.Serialize(), HasSubstr("lion_queue_depth{model=\"m\"} 2"));
}

TEST(BatcherTest, ExpiredRequestsAreDroppedNotComputed) {
  Harness h(Limits(8, 10000));
  auto r = h.Make(5);
  r->deadline = h.clock_.Now() + milliseconds(1);
  ASSERT_TRUE(h.batcher_->Submit(std::move(r)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(6)).ok());
  h.clock_.Advance(milliseconds(1));
  h.batcher_->Wake();
  ASSERT_TRUE(h.WaitCompletions(1));
  EXPECT_EQ(h.completions()[0].first, 5);
  EXPECT_EQ(h.completions()[0].second.code(), absl::StatusCode::kDeadlineExceeded);
  h.clock_.Advance(milliseconds(10));
  h.batcher_->Wake();
  ASSERT_TRUE(h.WaitBatches(1));
  EXPECT_EQ(h.batches()[0], (std::vector<int64_t>{6}));
  EXPECT_THAT(h.metrics_.Serialize(),
              HasSubstr("lion_rejected_total{model=\"m\",reason=\"deadline\"} 1"));
}

TEST(BatcherTest, CancelledRequestsAreDropped) {
  Harness h(Limits(8, 1000000));
  auto r = h.Make(5);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  r->cancelled = flag;
  ASSERT_TRUE(h.batcher_->Submit(std::move(r)).ok());
  flag->store(true);
  h.batcher_->Wake();
  ASSERT_TRUE(h.WaitCompletions(1));
  EXPECT_EQ(h.completions()[0].second.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(h.batches().empty());
  EXPECT_THAT(h.metrics_.Serialize(),
              HasSubstr("lion_rejected_total{model=\"m\",reason=\"cancelled\"} 1"));
}

TEST(BatcherTest, FlushSendsPartialBatches) {
  Harness h(Limits(8, 1000000));
  ASSERT_TRUE(h.batcher_->Submit(h.Make(5)).ok());
  h.batcher_->Flush();
  ASSERT_TRUE(h.WaitBatches(1));
  EXPECT_EQ(h.batches()[0], (std::vector<int64_t>{5}));
}

TEST(BatcherTest, StopCompletesLeftoversUnavailableAndRefusesNewWork) {
  Harness h(Limits(8, 1000000));
  ASSERT_TRUE(h.batcher_->Submit(h.Make(5)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(6)).ok());
  h.batcher_->Stop();
  auto done = h.completions();
  ASSERT_EQ(done.size(), 2u);
  for (auto& [len, status] : done) EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.batcher_->Submit(h.Make(7)).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(h.batches().empty());
}

TEST(BatcherTest, CreateRejectsBadLimits) {
  FakeClock clock;
  metrics::Metrics metrics({"t", "t", "t"});
  EXPECT_FALSE(Batcher::Create({"m", Limits(0, 1)}, &clock, &metrics, [](runtime::Batch) {}).ok());
  EXPECT_FALSE(Batcher::Create({"m", Limits(1, 1)}, &clock, &metrics, nullptr).ok());
}

TEST(BatcherTest, QueuedTokensAreBoundedButALoneRequestIsAdmitted) {
  {
    Harness h(Limits(8, 1000000, /*queue=*/100, /*queue_tokens=*/100));
    ASSERT_TRUE(h.batcher_->Submit(h.Make(500)).ok());  // alone: always admitted
    absl::Status s = h.batcher_->Submit(h.Make(1));
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(s.message(), HasSubstr("--max_queue_tokens=100"));
    EXPECT_EQ(h.batcher_->queued_tokens(), 500);
  }
  Harness h(Limits(8, 1000000, /*queue=*/100, /*queue_tokens=*/100));
  ASSERT_TRUE(h.batcher_->Submit(h.Make(60)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(40)).ok());
  EXPECT_EQ(h.batcher_->Submit(h.Make(1)).code(), absl::StatusCode::kResourceExhausted);
  h.batcher_->Flush();
  ASSERT_TRUE(h.WaitBatches(1));
  EXPECT_EQ(h.batches()[0], (std::vector<int64_t>{60, 40}));
  EXPECT_EQ(h.batcher_->queued_tokens(), 0);
}

TEST(BatcherTest, RequestWhoseEstimatedWaitExceedsItsDeadlineIsRefusedAtOnce) {
  Harness h(Limits(8, 1000000), /*wait_for_idle_runner=*/true);
  h.batcher_->RunnerIdle({.overhead_s = 0, .seconds_per_token = 0.001});
  const TimePoint now = h.clock_.Now();
  ASSERT_TRUE(h.batcher_->Submit(h.Make(500)).ok());  // 0.5 s of work queued
  absl::Status s = h.batcher_->Submit(h.Make(10, now + std::chrono::milliseconds(200)));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("estimated queue wait of 500 ms"));
  EXPECT_TRUE(h.batcher_->Submit(h.Make(10, now + std::chrono::seconds(2))).ok());
  EXPECT_THAT(h.metrics_.Serialize(),
              HasSubstr("lion_rejected_total{model=\"m\",reason=\"overloaded\"} 1"));
}

// A stream's first request alone measures mostly the per-batch overhead:
// charging every queued token at that batch's rate refused requests that
// would finish in time. The queue is charged as the batches it will form.
// A deadline that passed on the way in is DEADLINE_EXCEEDED, never an
// overload refusal (which an estimated wait of 0 ms against 0 ms left was).
TEST(BatcherTest, RequestWhoseDeadlineAlreadyPassedIsDeadlineExceeded) {
  Harness h(Limits(8, 1000000), /*wait_for_idle_runner=*/true);
  h.batcher_->RunnerIdle({.overhead_s = 0.001, .seconds_per_token = 0});
  ASSERT_TRUE(h.batcher_->Submit(h.Make(5)).ok());  // a queue ahead of it
  absl::Status s = h.batcher_->Submit(h.Make(5, h.clock_.Now()));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(h.batcher_->queued_tokens(), 5);
  EXPECT_THAT(h.metrics_.Serialize(),
              Not(HasSubstr("lion_rejected_total{model=\"m\",reason=\"overloaded\"} 1")));
}

TEST(BatcherTest, EstimatedWaitChargesTheOverheadPerBatchNotPerToken) {
  Harness h(Limits(64, 1000000), /*wait_for_idle_runner=*/true);
  h.batcher_->RunnerIdle({.overhead_s = 0.3, .seconds_per_token = 0});
  const TimePoint now = h.clock_.Now();
  for (int i = 0; i < 22; ++i) ASSERT_TRUE(h.batcher_->Submit(h.Make(40)).ok());
  // 880 tokens fit one batch of 64: 300 ms ahead, not 22 x 300 ms.
  EXPECT_TRUE(h.batcher_->Submit(h.Make(10, now + std::chrono::seconds(1))).ok());
}

TEST(BatcherTest, EstimatedWaitCountsOneBatchPerRequestAtBatchSizeOne) {
  Harness h(Limits(1, 1000000), /*wait_for_idle_runner=*/true);
  h.batcher_->RunnerIdle({.overhead_s = 0.3, .seconds_per_token = 0});
  const TimePoint now = h.clock_.Now();
  for (int i = 0; i < 22; ++i) ASSERT_TRUE(h.batcher_->Submit(h.Make(40)).ok());
  // At least 21 batches of one still queued (one may be running): >= 6.3 s.
  absl::Status s = h.batcher_->Submit(h.Make(10, now + std::chrono::seconds(1)));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("estimated queue wait of"));
}

// A flush while the runner is busy must leave the batcher waiting (not
// spinning with its lock held), so the runner's idle report gets through.
TEST(BatcherTest, FlushWhileTheRunnerIsBusyWaitsForItsIdleReport) {
  Harness h(Limits(1, 1000000), /*wait_for_idle_runner=*/true);
  ASSERT_TRUE(h.batcher_->Submit(h.Make(5)).ok());
  ASSERT_TRUE(h.WaitBatches(1));  // the runner is now busy with it
  ASSERT_TRUE(h.batcher_->Submit(h.Make(6)).ok());
  ASSERT_TRUE(h.batcher_->Submit(h.Make(7)).ok());
  h.batcher_->Flush();
  // Held while the runner is busy: nothing else may have been dispatched.
  h.clock_.Advance(milliseconds(1));
  h.batcher_->Wake();
  ASSERT_TRUE(h.batcher_->WaitUntilIdleAt(h.clock_.Now(), absl::Seconds(5)));
  EXPECT_EQ(h.batches().size(), 1u);
  EXPECT_EQ(h.batcher_->depth(), 2);
  // RunnerIdle takes the batcher's lock: it returns only if the batcher
  // released it.
  std::thread idle([&] { h.batcher_->RunnerIdle({}); });
  idle.join();
  ASSERT_TRUE(h.WaitBatches(2));
  EXPECT_EQ(h.batches()[1], (std::vector<int64_t>{6}));
  h.batcher_->RunnerIdle({});
  ASSERT_TRUE(h.WaitBatches(3));
  EXPECT_EQ(h.batches()[2], (std::vector<int64_t>{7}));
  EXPECT_EQ(h.batches().size(), 3u);
}

}  // namespace
}  // namespace lion::batching
