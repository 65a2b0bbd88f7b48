#include "server/runtime/attention_timer.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::ElementsAreArray;

// A clock that moves one step per reading and logs each reading.
class SteppingClock : public Clock {
 public:
  SteppingClock(std::vector<std::string>* log, Duration step) : log_(log), step_(step) {}
  TimePoint Now() const override {
    log_->push_back("now");
    now_ += step_;
    return now_;
  }

 private:
  std::vector<std::string>* log_;
  Duration step_;
  mutable TimePoint now_{};
};

AttentionTimerOptions Options() {
  AttentionTimerOptions o;
  o.heads = 2;
  o.head_dim = 8;
  o.threads = 1;
  return o;
}

TEST(AttentionTimerTest, SynchronisesBeforeEveryClockReadingAndReportsPerSequence) {
  std::vector<std::string> log;
  SteppingClock clock(&log, std::chrono::milliseconds(4));
  AttentionTimerOptions o = Options();
  o.clock = &clock;
  o.synchronize = [&log] { log.push_back("sync"); };
  o.min_calls = 3;
  o.max_calls = 3;
  auto timer = AttentionTimer::Create(o);
  ASSERT_TRUE(timer.ok()) << timer.status();
  auto seconds = (*timer)->SecondsPerSequence(Form::kChunk, 40, /*batch=*/2, /*chunk_size=*/16);
  ASSERT_TRUE(seconds.ok()) << seconds.status();
  EXPECT_DOUBLE_EQ(*seconds, 0.004 / 2);  // one clock step per call, per sequence
  std::vector<std::string> expected;
  for (int call = 0; call < 3; ++call)
    expected.insert(expected.end(), {"sync", "now", "sync", "now"});
  EXPECT_THAT(log, ElementsAreArray(expected));
}

TEST(AttentionTimerTest, ShortCallsAreRepeatedUpToTheirTotal) {
  std::vector<std::string> log;
  SteppingClock clock(&log, std::chrono::milliseconds(1));
  AttentionTimerOptions o = Options();
  o.clock = &clock;
  o.min_calls = 1;
  o.max_calls = 50;
  o.min_total_seconds = 0.0045;  // five 1 ms calls
  auto timer = AttentionTimer::Create(o);
  ASSERT_TRUE(timer.ok());
  ASSERT_TRUE((*timer)->SecondsPerSequence(Form::kRnn, 8, 1, 64).ok());
  EXPECT_EQ(log.size(), 2u * 5u);
}

TEST(AttentionTimerTest, EveryModelShapeAndFormRunsOnTheCpu) {
  struct Case {
    const char* kind;
    const char* variant;
    const char* order;
  };
  for (const Case& c : {Case{"mlm", "lit", ""}, Case{"mlm", "d", ""}, Case{"mlm", "s", ""},
                        Case{"vision", "s", "normal"}, Case{"vision", "d", "natural"}}) {
    ModelDescription d = FakeModel::Describe("m", c.kind);
    d.variant = c.variant;
    d.order = c.order;
    AttentionTimerOptions o = AttentionTimerOptionsFor(d, 1);
    EXPECT_EQ(o.heads, 2);
    EXPECT_EQ(o.head_dim, 4);
    EXPECT_EQ(o.normalize, std::string(c.kind) == "vision");
    EXPECT_EQ(o.padded, std::string(c.kind) != "vision");
    EXPECT_EQ(o.orders, std::string(c.order) == "natural" ? 2 : 1);
    auto timer = AttentionTimer::Create(o);
    ASSERT_TRUE(timer.ok()) << timer.status();
    for (Form form : {Form::kFull, Form::kChunk, Form::kRnn}) {
      for (int64_t length : {1, 17, 100}) {
        auto t = (*timer)->SecondsPerSequence(form, length, 3, 16);
        ASSERT_TRUE(t.ok()) << c.kind << " " << c.variant << " " << c.order << " "
                            << kernels::FormName(form) << " " << length << ": " << t.status();
        EXPECT_GT(*t, 0);
      }
    }
  }
}

// Options() with one change.
template <typename Change>
AttentionTimerOptions With(Change change) {
  AttentionTimerOptions o = Options();
  change(o);
  return o;
}

TEST(AttentionTimerTest, BadOptionsAndShapesAreRejected) {
  const std::string bad_variant = "x", bad_dtype = "float64", bad_device = "no-such-device";
  for (const AttentionTimerOptions& o :
       {With([&](auto& o) { o.variant = bad_variant; }), With([](auto& o) { o.orders = 3; }),
        With([&](auto& o) { o.dtype = bad_dtype; })}) {
    EXPECT_EQ(AttentionTimer::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(AttentionTimer::Create(With([&](auto& o) { o.device = bad_device; })).status().code(),
            absl::StatusCode::kUnavailable);
  auto timer = AttentionTimer::Create(Options());
  ASSERT_TRUE(timer.ok());
  EXPECT_EQ((*timer)->SecondsPerSequence(Form::kFull, 0, 1, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lion::runtime
