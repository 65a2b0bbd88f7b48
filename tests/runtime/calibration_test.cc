#include "server/runtime/calibration.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/temp_path.h"
#include "tests/runtime/fake_form_timer.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

double Cost(Form form, int64_t length, int64_t, int64_t) {
  const double L = static_cast<double>(length);
  return form == Form::kFull ? 1e-9 * L * L : form == Form::kChunk ? 2e-7 * L + 1e-5 : 3e-7 * L;
}

// Runs ObtainCalibration with a fake timer and counts how often it timed.
class ObtainTest : public ::testing::Test {
 protected:
  ObtainTest() {
    setup_.max_length = 4096;
    setup_.form.calibration_dir = testing_util::UniqueTempPath(
        std::string("cache_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    setup_.context = CalibrationContext{"cpu: Test CPU [avx2 fma]", "test 1.0", 2};
    setup_.clock = &clock_;
    model_ = FakeModel::Describe("m", "mlm");
    model_.max_input_tokens = 0;
  }

  absl::StatusOr<CalibrationOutcome> Obtain(const ModelDescription& d) {
    return ObtainCalibration(d, setup_, [this]() -> absl::StatusOr<std::unique_ptr<FormTimer>> {
      ++timers_made_;
      return std::unique_ptr<FormTimer>(new FakeFormTimer(Cost, &clock_));
    });
  }

  std::vector<std::string> CacheFiles() const {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(setup_.form.calibration_dir, ec)) {
      files.push_back(e.path().filename().string());
    }
    return files;
  }

  FakeClock clock_;
  CalibrationSetup setup_;
  ModelDescription model_;
  int timers_made_ = 0;
};

TEST_F(ObtainTest, ComputesOnceThenModelsWithTheSameKeyReuseIt) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->source, CalibrationSource::kComputed);
  EXPECT_THAT(first->warnings, IsEmpty());
  EXPECT_EQ(first->calibration.full_max_tokens, 128);  // from Cost
  EXPECT_FALSE(first->table.batched.empty());
  EXPECT_THAT(CacheFiles(), SizeIs(1));
  // Another model with the same attention shape: other name, depth and MLP.
  ModelDescription other = model_;
  other.name = "other";
  other.num_layers = 12;
  other.model_dir = "/elsewhere";
  auto second = Obtain(other);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->source, CalibrationSource::kCached);
  EXPECT_EQ(second->cache_path, first->cache_path);
  EXPECT_EQ(second->calibration.full_max_tokens, first->calibration.full_max_tokens);
  EXPECT_EQ(second->calibration.rnn_min_tokens, first->calibration.rnn_min_tokens);
  EXPECT_EQ(second->calibration.chunk_size, first->calibration.chunk_size);
  EXPECT_EQ(second->calibration.single.full_max_tokens, first->calibration.single.full_max_tokens);
  EXPECT_EQ(second->calibration.single.rnn_min_tokens, first->calibration.single.rnn_min_tokens);
  EXPECT_EQ(timers_made_, 1);
}

TEST_F(ObtainTest, RecomputesWhenCpuFlagsThreadsOrHeadShapeDiffer) {
  ASSERT_TRUE(Obtain(model_).ok());
  auto expect_recomputed = [&](const ModelDescription& d, const std::string& what) {
    const int before = timers_made_;
    auto outcome = Obtain(d);
    ASSERT_TRUE(outcome.ok()) << what;
    EXPECT_EQ(outcome->source, CalibrationSource::kComputed) << what;
    EXPECT_EQ(timers_made_, before + 1) << what;
  };
  setup_.context.device_identity = "cpu: Test CPU [avx2 avx512f fma]";
  expect_recomputed(model_, "CPU flags");
  setup_.context.threads = 4;
  expect_recomputed(model_, "threads");
  ModelDescription wider = model_;
  wider.hidden_size = 16;  // head size 8 instead of 4
  expect_recomputed(wider, "head size");
  ModelDescription more_heads = model_;
  more_heads.num_heads = 4;
  more_heads.hidden_size = 16;
  expect_recomputed(more_heads, "head count");
  ModelDescription selective = model_;
  selective.variant = "s";
  expect_recomputed(selective, "variant");
  setup_.context.software = "test 1.1";
  expect_recomputed(model_, "software");
  EXPECT_THAT(CacheFiles(), SizeIs(7));  // one file per key
  // The first key again: still cached.
  setup_.context = CalibrationContext{"cpu: Test CPU [avx2 fma]", "test 1.0", 2};
  auto again = Obtain(model_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->source, CalibrationSource::kCached);
}

TEST_F(ObtainTest, UnreadableCacheIsIgnoredWithAWarningAndRewritten) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok());
  for (const char* text : {"{\"key\": 3", "not json at all", "{\"calibration\": {}}"}) {
    std::ofstream(first->cache_path) << text;
    auto outcome = Obtain(model_);
    ASSERT_TRUE(outcome.ok()) << text;
    EXPECT_EQ(outcome->source, CalibrationSource::kComputed) << text;
    ASSERT_THAT(outcome->warnings, SizeIs(1)) << text;
    EXPECT_THAT(outcome->warnings[0], HasSubstr("calibration cache ignored")) << text;
    EXPECT_THAT(outcome->warnings[0], HasSubstr(first->cache_path)) << text;
  }
  auto repaired = Obtain(model_);  // the recomputation was written back
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(repaired->source, CalibrationSource::kCached);
}

TEST_F(ObtainTest, CalibrateFlagRecomputes) {
  ASSERT_TRUE(Obtain(model_).ok());
  setup_.form.calibrate = true;
  auto outcome = Obtain(model_);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->source, CalibrationSource::kComputed);
  EXPECT_EQ(timers_made_, 2);
}

TEST_F(ObtainTest, EveryLimitPinnedTimesNothing) {
  setup_.form.full_max_tokens = 100;
  setup_.form.chunk_size = 16;
  setup_.form.rnn_min_tokens = 1000;
  auto outcome = Obtain(model_);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->source, CalibrationSource::kPinned);
  EXPECT_EQ(timers_made_, 0);
  EXPECT_THAT(CacheFiles(), IsEmpty());
  const FormLimits limits = ResolveLimits(setup_.form, outcome->calibration);
  EXPECT_EQ(limits.full_max_tokens, 100);
  EXPECT_EQ(limits.chunk_size, 16);
  EXPECT_EQ(limits.rnn_min_tokens, 1000);
}

TEST_F(ObtainTest, NoOrUnwritableCacheFolderStillCalibratesWithAWarning) {
  setup_.form.calibration_dir = "";
  auto outcome = Obtain(model_);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->source, CalibrationSource::kComputed);
  ASSERT_THAT(outcome->warnings, SizeIs(1));
  EXPECT_THAT(outcome->warnings[0], HasSubstr("not cached"));
  // A file where the folder should be: nothing can be written under it.
  const std::string blocker = testing_util::UniqueTempPath("blocker");
  std::ofstream(blocker) << "x";
  setup_.form.calibration_dir = blocker + "/cache";
  outcome = Obtain(model_);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->source, CalibrationSource::kComputed);
  ASSERT_THAT(outcome->warnings, SizeIs(1));
  EXPECT_THAT(outcome->warnings[0], HasSubstr("not cached"));
}

TEST_F(ObtainTest, TimerErrorsAreReturned) {
  auto outcome =
      ObtainCalibration(model_, setup_, []() -> absl::StatusOr<std::unique_ptr<FormTimer>> {
        return absl::UnavailableError("no device");
      });
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable);
}

TEST(CalibrationTest, FlagsPinAndCalibrationFillsTheRest) {
  config::FormOptions flags;
  flags.chunk_size = 16;
  flags.memory_budget_bytes = 1000;
  Calibration c;
  c.full_max_tokens = 256;
  c.chunk_size = 64;
  c.rnn_min_tokens = 4096;
  c.single = FormThresholds{32, 128};
  FormLimits limits = ResolveLimits(flags, c);
  EXPECT_EQ(limits.full_max_tokens, 256);
  EXPECT_EQ(limits.chunk_size, 16);
  EXPECT_EQ(limits.rnn_min_tokens, 4096);
  EXPECT_EQ(limits.memory_budget_bytes, 1000);
  ASSERT_TRUE(limits.single.has_value());
  EXPECT_EQ(limits.single->full_max_tokens, 32);
  EXPECT_EQ(limits.single->rnn_min_tokens, 128);
  flags.full_max_tokens = 7;
  limits = ResolveLimits(flags, c);
  EXPECT_EQ(limits.single->full_max_tokens, 7);  // a pin holds for lone requests too
}

}  // namespace
}  // namespace lion::runtime
