#include "server/runtime/calibration.h"

#include <cstdio>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/temp_path.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

TEST(CalibrationTest, SaveLoadRoundTripAndErrors) {
  const std::string path = testing_util::UniqueTempPath("calibration_test.json");
  Calibration c{"m", "cpu", 2, 256, 64, 4096};
  c.single = FormThresholds{32, 128};
  ASSERT_TRUE(SaveCalibration(path, c).ok());
  auto loaded = LoadCalibration(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->full_max_tokens, 256);
  EXPECT_EQ(loaded->chunk_size, 64);
  EXPECT_EQ(loaded->rnn_min_tokens, 4096);
  EXPECT_EQ(loaded->device, "cpu");
  EXPECT_EQ(loaded->single.full_max_tokens, 32);
  EXPECT_EQ(loaded->single.rnn_min_tokens, 128);
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"model\": 3", f);
  std::fclose(f);
  EXPECT_EQ(LoadCalibration(path).status().code(), absl::StatusCode::kInvalidArgument);
  std::remove(path.c_str());
  EXPECT_EQ(LoadCalibration(path).status().code(), absl::StatusCode::kNotFound);
}

TEST(CalibrationTest, FlagsPinAndCalibrationFillsTheRest) {
  config::FormOptions flags;
  flags.chunk_size = 16;
  flags.memory_budget_bytes = 1000;
  FormLimits limits = ResolveLimits(flags, Calibration{"m", "cpu", 2, 256, 64, 4096});
  EXPECT_EQ(limits.full_max_tokens, 256);
  EXPECT_EQ(limits.chunk_size, 16);
  EXPECT_EQ(limits.rnn_min_tokens, 4096);
  EXPECT_EQ(limits.memory_budget_bytes, 1000);
}

TEST(CalibrationTest, PathIsNextToTheModelOrInTheCacheDir) {
  ModelDescription d = FakeModel::Describe("m", "mlm");
  d.model_dir = "/repo/m";
  config::FormOptions o;
  EXPECT_EQ(CalibrationPath(o, d), "/repo/m/calibration.json");
  o.calibration_dir = "/cache";
  EXPECT_EQ(CalibrationPath(o, d), "/cache/m.calibration.json");
}

TEST(CalibrationTest, CalibrateGivesUsableLimits) {
  FakeModel model(FakeModel::Describe("m", "mlm"));
  auto c = Calibrate(model, 64, 1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->chunk_size, AnyOf(32, 64, 128));
  EXPECT_GE(c->full_max_tokens, 0);
  EXPECT_LE(c->full_max_tokens, 64);
  EXPECT_FALSE(model.calls().empty());
}

TEST(WarmUpTest, RunsEveryFormAndCatchesDisagreement) {
  for (const char* kind : {"mlm", "classification", "vision"}) {
    FakeModel model(FakeModel::Describe("m", kind));
    ASSERT_TRUE(WarmUp(model, 64).ok()) << kind;
    ASSERT_EQ(model.calls().size(), 3u);
    EXPECT_EQ(model.calls()[1].form, kernels::Form::kChunk);
    EXPECT_LT(model.calls()[1].chunk_size, 24);  // crosses chunk boundaries
  }
  FakeModel skewed(FakeModel::Describe("m", "mlm"));
  skewed.SkewForm(kernels::Form::kRnn, 0.5f);
  absl::Status s = WarmUp(skewed, 64);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("rnn"));
}

}  // namespace
}  // namespace lion::runtime
