// The batcher and a real runner wired as model assembly wires them
// (server/repository/model_loader.cc): the batcher waits for an idle runner,
// dispatches into Runner::Submit, and the runner reports idleness through
// Batcher::RunnerIdle. The model is the fake one (outputs a fixed function of
// each input), held inside Forward by a gate where a test needs the runner
// busy. Every wait is bounded; nothing is asserted about time.
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/batching/batcher.h"
#include "server/runtime/runner.h"
#include "tests/runtime/fake_model.h"

namespace lion::batching {
namespace {

using runtime::FakeModel;

// Closed: Forward waits inside the model until Open(). Counts entries.
class Gate {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    // Bounded: a test that forgets to open fails instead of hanging.
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
  }
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return entered_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int entered_ = 0;
};

// Every request's answers, by id.
class Answers {
 public:
  void Record(int id, absl::StatusOr<runtime::Result> result) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[id].push_back(std::move(result));
    ++total_;
    cv_.notify_all();
  }
  bool WaitTotal(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return total_ >= n; });
  }
  std::map<int, std::vector<absl::StatusOr<runtime::Result>>> all() {
    std::lock_guard<std::mutex> lock(mu_);
    return answers_;
  }
  int total() {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, std::vector<absl::StatusOr<runtime::Result>>> answers_;
  int total_ = 0;
};

class Served {
 public:
  explicit Served(int64_t max_batch_size) : metrics_({"t", "t", "t"}) {
    auto owned = std::make_unique<FakeModel>(FakeModel::Describe("m", "classification"));
    model_ = owned.get();
    model_->SetDuringForward([this](const runtime::BatchOptions&) {
      gate_.Pass();
      return false;
    });
    metrics_.AddModel({"m", "lion_bert", "d", "classification", "cpu"});
    runtime::FormLimits limits{/*full_max_tokens=*/64, /*chunk_size=*/8,
                               /*rnn_min_tokens=*/1 << 20, int64_t{1} << 30};
    auto runner = runtime::Runner::Create(std::move(owned), limits, &clock_, &metrics_);
    EXPECT_TRUE(runner.ok()) << runner.status();
    runner_ = std::move(*runner);
    config::BatchingOptions o;
    o.max_batch_size = max_batch_size;
    o.max_batch_tokens = 1 << 20;
    o.max_queue_delay_us = 0;  // send whenever the runner is idle
    o.max_queue_size = 10000;
    o.max_queue_tokens = 1 << 24;
    runtime::Runner* r = runner_.get();
    auto batcher = Batcher::Create({"m", o, /*wait_for_idle_runner=*/true}, &clock_, &metrics_,
                                   [r](runtime::Batch b) { r->Submit(std::move(b)); });
    EXPECT_TRUE(batcher.ok()) << batcher.status();
    batcher_ = std::move(*batcher);
    Batcher* b = batcher_.get();
    runner_->SetOnIdle([b](const runtime::BatchCost& cost) { b->RunnerIdle(cost); });
  }
  // As repository::ModelThreads: the batcher first, then the runner.
  ~Served() {
    gate_.Open();
    StopBoth();
  }
  void StopBoth() {
    batcher_->Stop();
    runner_->Stop();
  }

  // Tokens 1 + (id + i) % 29: each request's outputs differ from the others'.
  std::unique_ptr<runtime::Request> Make(int id, int64_t length) {
    auto r = std::make_unique<runtime::Request>();
    for (int64_t i = 0; i < length; ++i) r->input.token_ids.push_back(1 + (id + i) % 29);
    r->length = length;
    r->outputs.logits = true;
    r->done = [this, id](absl::StatusOr<runtime::Result> result) {
      answers_.Record(id, std::move(result));
    };
    return r;
  }
  std::vector<float> ExpectedLogits(int id, int64_t length) {
    auto r = Make(id, length);
    return model_->Expected(r->input, r->outputs).logits;
  }
  // The batcher has looked at the queue after everything so far.
  bool BatcherSettled() {
    clock_.Advance(std::chrono::microseconds(1));
    batcher_->Wake();
    return batcher_->WaitUntilIdleAt(clock_.Now(), absl::Seconds(10));
  }
  std::vector<int64_t> BatchSizes() {
    std::vector<int64_t> sizes;
    for (const runtime::FakeCall& c : model_->calls()) sizes.push_back(c.batch_size);
    return sizes;
  }

  FakeClock clock_{TimePoint{} + std::chrono::hours(1)};
  metrics::Metrics metrics_;
  Gate gate_;
  Answers answers_;
  FakeModel* model_;
  std::unique_ptr<runtime::Runner> runner_;  // declared first: destroyed last
  std::unique_ptr<Batcher> batcher_;
};

TEST(BatcherRunnerTest, WhileTheRunnerIsBusyTheNextBatchGrowsAndGoesWhenItIsIdle) {
  Served s(/*max_batch_size=*/16);
  s.gate_.Close();
  ASSERT_TRUE(s.batcher_->Submit(s.Make(0, 10)).ok());
  ASSERT_TRUE(s.gate_.WaitEntered(1));  // the runner is computing request 0
  for (int id = 1; id <= 7; ++id) ASSERT_TRUE(s.batcher_->Submit(s.Make(id, 10)).ok());
  ASSERT_TRUE(s.BatcherSettled());
  // Kept open: all seven wait in the batcher, none went to the runner.
  EXPECT_EQ(s.batcher_->depth(), 7);
  EXPECT_EQ(s.BatchSizes(), (std::vector<int64_t>{1}));
  EXPECT_EQ(s.answers_.total(), 0);
  s.gate_.Open();  // the runner finishes, reports idle, and gets the grown batch
  ASSERT_TRUE(s.answers_.WaitTotal(8));
  EXPECT_EQ(s.BatchSizes(), (std::vector<int64_t>{1, 7}));
  for (const auto& [id, answers] : s.answers_.all()) {
    ASSERT_EQ(answers.size(), 1u) << id;
    ASSERT_TRUE(answers[0].ok()) << id << ": " << answers[0].status();
    EXPECT_EQ(answers[0]->usage.batch_size, id == 0 ? 1 : 7) << id;
    EXPECT_EQ(answers[0]->output.logits, s.ExpectedLogits(id, 10)) << id;
  }
}

TEST(BatcherRunnerTest, ManyRequestsFromSeveralThreadsAreEachAnsweredOnceWithTheirOwnResult) {
  constexpr int kThreads = 4, kPerThread = 75, kTotal = kThreads * kPerThread;
  Served s(/*max_batch_size=*/8);
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        if (!s.batcher_->Submit(s.Make(id, 8 + id % 8)).ok()) ++refused;
      }
    });
  }
  for (std::thread& c : clients) c.join();
  ASSERT_EQ(refused.load(), 0);
  ASSERT_TRUE(s.answers_.WaitTotal(kTotal)) << s.answers_.total() << " of " << kTotal;
  s.StopBoth();  // nothing may be answered again on the way out
  const auto all = s.answers_.all();
  ASSERT_EQ(all.size(), static_cast<size_t>(kTotal));
  for (const auto& [id, answers] : all) {
    ASSERT_EQ(answers.size(), 1u) << "request " << id << " answered " << answers.size() << " times";
    ASSERT_TRUE(answers[0].ok()) << id << ": " << answers[0].status();
    EXPECT_EQ(answers[0]->output.logits, s.ExpectedLogits(id, 8 + id % 8)) << id;
  }
  int64_t computed = 0;
  for (int64_t size : s.BatchSizes()) {
    EXPECT_LE(size, 8);
    computed += size;
  }
  EXPECT_EQ(computed, kTotal);  // each request computed once
}

// Stopping as model unloading does (batcher, then runner) while the runner is
// busy and requests are queued: the queued ones get UNAVAILABLE, the one
// being computed its result, and nothing is answered twice or lost.
TEST(BatcherRunnerTest, StoppingWithWorkQueuedAnswersEverything) {
  Served s(/*max_batch_size=*/4);
  s.gate_.Close();
  ASSERT_TRUE(s.batcher_->Submit(s.Make(0, 10)).ok());
  ASSERT_TRUE(s.gate_.WaitEntered(1));
  for (int id = 1; id <= 9; ++id) ASSERT_TRUE(s.batcher_->Submit(s.Make(id, 10)).ok());
  s.batcher_->Stop();  // returns while the runner is still inside Forward
  EXPECT_EQ(s.answers_.total(), 9);
  EXPECT_EQ(s.batcher_->Submit(s.Make(10, 10)).code(), absl::StatusCode::kUnavailable);
  s.gate_.Open();
  s.runner_->Stop();
  const auto all = s.answers_.all();
  ASSERT_EQ(all.size(), 10u);  // request 10 was refused at Submit, never answered
  for (const auto& [id, answers] : all) {
    ASSERT_EQ(answers.size(), 1u) << id;
    if (id == 0) {
      ASSERT_TRUE(answers[0].ok()) << answers[0].status();
      EXPECT_EQ(answers[0]->output.logits, s.ExpectedLogits(0, 10));
    } else {
      EXPECT_EQ(answers[0].status().code(), absl::StatusCode::kUnavailable) << id;
    }
  }
  EXPECT_EQ(s.BatchSizes(), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace lion::batching
