#include "server/runtime/runner.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::HasSubstr;

struct Fixture {
  Fixture(FormLimits limits = {/*full_max_tokens=*/8, /*chunk_size=*/4, /*rnn_min_tokens=*/32,
                               int64_t{1} << 30})
      : metrics({"t", "t", "t"}) {
    auto owned = std::make_unique<FakeModel>(FakeModel::Describe("fake", "classification"));
    model = owned.get();
    metrics.AddModel({"fake", "lion_bert", "d", "classification", "cpu"});
    runner = *Runner::Create(std::move(owned), limits, &clock, &metrics);
  }

  // A request of `length` tokens whose result lands in the returned future.
  std::pair<std::unique_ptr<Request>, std::future<absl::StatusOr<Result>>> Make(int64_t length) {
    auto r = std::make_unique<Request>();
    for (int64_t i = 0; i < length; ++i) r->input.token_ids.push_back(static_cast<int32_t>(i % 29 + 1));
    r->length = length;
    r->outputs.logits = true;
    r->outputs.pooled = true;
    r->arrival = clock.Now();
    auto promise = std::make_shared<std::promise<absl::StatusOr<Result>>>();
    auto future = promise->get_future();
    r->done = [promise](absl::StatusOr<Result> res) { promise->set_value(std::move(res)); };
    return {std::move(r), std::move(future)};
  }

  FakeClock clock{TimePoint{} + std::chrono::hours(1)};
  metrics::Metrics metrics;
  FakeModel* model;
  std::unique_ptr<Runner> runner;
};

absl::StatusOr<Result> Get(std::future<absl::StatusOr<Result>>& f) {
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return absl::DeadlineExceededError("test timed out");
  }
  return f.get();
}

TEST(RunnerTest, BatchedOutputsEqualEachRequestAloneWithUsage) {
  Fixture fx;
  std::vector<std::future<absl::StatusOr<Result>>> futures;
  std::vector<SequenceInput> inputs;
  Batch batch;
  for (int64_t len : {3, 7, 5}) {
    auto [r, f] = fx.Make(len);
    inputs.push_back(r->input);
    batch.push_back(std::move(r));
    futures.push_back(std::move(f));
  }
  fx.clock.Advance(std::chrono::milliseconds(3));
  fx.runner->Submit(std::move(batch));
  for (size_t i = 0; i < futures.size(); ++i) {
    auto res = Get(futures[i]);
    ASSERT_TRUE(res.ok()) << res.status();
    OutputRequest want;
    want.logits = want.pooled = true;
    EXPECT_EQ(res->output.logits, fx.model->Expected(inputs[i], want).logits);
    EXPECT_EQ(res->usage.batch_size, 3);
    EXPECT_EQ(res->usage.input_tokens, static_cast<int64_t>(inputs[i].token_ids.size()));
    EXPECT_EQ(res->usage.form, Form::kFull);  // padded 7 <= 8
    EXPECT_EQ(res->usage.queue_us, 3000);
  }
  ASSERT_EQ(fx.model->calls().size(), 1u);
  EXPECT_EQ(fx.model->calls()[0].batch_size, 3);
  EXPECT_EQ(fx.model->calls()[0].chunk_size, 4);
  EXPECT_THAT(fx.metrics.Serialize(),
              HasSubstr("lion_batch_tokens_sum{form=\"full\",model=\"fake\"} 21"));
}

TEST(RunnerTest, PolicyPicksTheFormByPaddedLengthAndForcedFormWins) {
  Fixture fx;
  auto run = [&](int64_t len, std::optional<Form> forced) {
    auto [r, f] = fx.Make(len);
    r->forced_form = forced;
    Batch b;
    b.push_back(std::move(r));
    fx.runner->Submit(std::move(b));
    auto res = Get(f);
    EXPECT_TRUE(res.ok());
    return res.ok() ? res->usage.form : Form::kFull;
  };
  EXPECT_EQ(run(8, std::nullopt), Form::kFull);
  EXPECT_EQ(run(9, std::nullopt), Form::kChunk);
  EXPECT_EQ(run(40, std::nullopt), Form::kRnn);
  EXPECT_EQ(run(40, Form::kFull), Form::kFull);
  EXPECT_EQ(run(2, Form::kRnn), Form::kRnn);
  EXPECT_THAT(fx.metrics.Serialize(), HasSubstr("lion_form_batches_total{form=\"rnn\",model=\"fake\"} 2"));
}

TEST(RunnerTest, DropsExpiredAndCancelledBeforeCompute) {
  Fixture fx;
  auto [expired, fe] = fx.Make(3);
  expired->deadline = fx.clock.Now();
  auto [cancelled, fc] = fx.Make(3);
  cancelled->cancelled = std::make_shared<std::atomic<bool>>(true);
  Batch b;
  b.push_back(std::move(expired));
  b.push_back(std::move(cancelled));
  fx.runner->Submit(std::move(b));
  EXPECT_EQ(Get(fe).status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Get(fc).status().code(), absl::StatusCode::kCancelled);
  fx.runner->Stop();
  EXPECT_TRUE(fx.model->calls().empty());
}

TEST(RunnerTest, ModelFailureIsInternalNamingTheModel) {
  Fixture fx;
  fx.model->FailNext(absl::InternalError("boom"));
  auto [r, f] = fx.Make(3);
  Batch b;
  b.push_back(std::move(r));
  fx.runner->Submit(std::move(b));
  auto res = Get(f);
  EXPECT_EQ(res.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(res.status().message(), HasSubstr("model fake"));
  EXPECT_THAT(res.status().message(), HasSubstr("boom"));
}

TEST(RunnerTest, AfterStopBatchesCompleteUnavailable) {
  Fixture fx;
  fx.runner->Stop();
  auto [r, f] = fx.Make(3);
  Batch b;
  b.push_back(std::move(r));
  fx.runner->Submit(std::move(b));
  EXPECT_EQ(Get(f).status().code(), absl::StatusCode::kUnavailable);
}

TEST(RunnerTest, OneBadInputFailsOnlyItsOwnRequest) {
  Fixture fx;
  std::vector<std::future<absl::StatusOr<Result>>> futures;
  Batch batch;
  for (int i = 0; i < 12; ++i) {
    auto [r, f] = fx.Make(5);
    if (i == 4) r->input.token_ids[2] = 30;  // past the fake's 30-row table
    batch.push_back(std::move(r));
    futures.push_back(std::move(f));
  }
  fx.runner->Submit(std::move(batch));
  for (int i = 0; i < 12; ++i) {
    auto res = Get(futures[i]);
    if (i == 4) {
      EXPECT_EQ(res.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(res.status().message(), HasSubstr("model fake"));
    } else {
      EXPECT_TRUE(res.ok()) << i << ": " << res.status();
    }
  }
  // The batch, then each request alone.
  ASSERT_EQ(fx.model->calls().size(), 13u);
  EXPECT_EQ(fx.model->calls()[0].batch_size, 12);
  EXPECT_EQ(fx.model->calls()[1].batch_size, 1);
}

TEST(RunnerTest, DeadlinePassingDuringComputeIsDeadlineExceeded) {
  Fixture fx;
  fx.model->SetDuringForward([&](const BatchOptions&) {
    fx.clock.Advance(std::chrono::milliseconds(50));  // the forward takes 50 ms
    return false;
  });
  auto [late, fl] = fx.Make(3);
  late->deadline = fx.clock.Now() + std::chrono::milliseconds(20);
  auto [ok, fo] = fx.Make(3);
  ok->deadline = fx.clock.Now() + std::chrono::seconds(10);
  Batch b;
  b.push_back(std::move(late));
  b.push_back(std::move(ok));
  fx.runner->Submit(std::move(b));
  auto res = Get(fl);
  EXPECT_EQ(res.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(res.status().message(), HasSubstr("during compute"));
  EXPECT_TRUE(Get(fo).ok());
  EXPECT_THAT(fx.metrics.Serialize(),
              HasSubstr("lion_rejected_total{model=\"fake\",reason=\"deadline\"} 1"));
}

TEST(RunnerTest, ForwardStopsWhenEveryRequestIsGone) {
  Fixture fx;
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> polls_true{0};
  fx.model->SetDuringForward([&](const BatchOptions& options) {
    flag->store(true);  // the client leaves mid-forward
    const bool stop = options.should_stop && options.should_stop();
    if (stop) polls_true++;
    return stop;
  });
  auto [r, f] = fx.Make(3);
  r->cancelled = flag;
  Batch b;
  b.push_back(std::move(r));
  fx.runner->Submit(std::move(b));
  EXPECT_EQ(Get(f).status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(polls_true.load(), 1);
}

TEST(RunnerTest, NonFiniteOutputsAreInternalNotNaNScores) {
  Fixture fx;
  fx.model->SetNanToken(true);
  auto [bad, fb] = fx.Make(3);
  bad->input.token_ids[1] = FakeModel::kNanToken;
  auto [good, fg] = fx.Make(3);
  good->input.token_ids = {1, 2, 3};
  Batch b;
  b.push_back(std::move(bad));
  b.push_back(std::move(good));
  fx.runner->Submit(std::move(b));
  auto res = Get(fb);
  EXPECT_EQ(res.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(res.status().message(), HasSubstr("non-finite"));
  EXPECT_TRUE(Get(fg).ok());
}

TEST(RunnerTest, AbortStopsTheRunningBatchAndAnswersUnavailable) {
  Fixture fx;
  std::promise<void> entered;
  std::atomic<bool> release{false};
  fx.model->SetDuringForward([&](const BatchOptions& options) {
    entered.set_value();
    // Stand for a long forward that polls between layers.
    for (int i = 0; i < 5000 && !release.load(); ++i) {
      if (options.should_stop && options.should_stop()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  });
  auto [r, f] = fx.Make(3);
  Batch b;
  b.push_back(std::move(r));
  fx.runner->Submit(std::move(b));
  entered.get_future().wait();
  fx.runner->Abort("is shutting down: test");
  release.store(true);
  auto res = Get(f);
  EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(res.status().message(), HasSubstr("is shutting down: test"));
}

TEST(RunnerTest, IdleCallbackReportsTheBatchCostFittedSoFar) {
  Fixture fx;
  std::mutex mu;
  std::vector<BatchCost> reports;
  std::condition_variable cv;
  fx.runner->SetOnIdle([&](const BatchCost& cost) {
    std::lock_guard<std::mutex> lock(mu);
    reports.push_back(cost);
    cv.notify_all();
  });
  // Batch k of 20 * k tokens takes (0.05 + 0.0025 * tokens) s of fake time.
  int64_t next_tokens = 20;
  fx.model->SetDuringForward([&](const BatchOptions&) {
    fx.clock.Advance(std::chrono::microseconds(50000 + 2500 * next_tokens));
    return false;
  });
  for (int64_t tokens : {20, 60}) {
    next_tokens = tokens;
    auto [r, f] = fx.Make(tokens);
    Batch b;
    b.push_back(std::move(r));
    fx.runner->Submit(std::move(b));
    ASSERT_TRUE(Get(f).ok());
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5),
                            [&] { return reports.size() == static_cast<size_t>(tokens / 40 + 1); }));
  }
  // One batch size seen: all of its 0.1 s counts as overhead (a lower bound).
  EXPECT_NEAR(reports[0].overhead_s, 0.1, 1e-9);
  EXPECT_EQ(reports[0].seconds_per_token, 0);
  // Two sizes: the line through both.
  EXPECT_NEAR(reports[1].overhead_s, 0.05, 1e-9);
  EXPECT_NEAR(reports[1].seconds_per_token, 0.0025, 1e-12);
}

}  // namespace
}  // namespace lion::runtime
