// ObtainCalibration with a scripted timing table and a cache folder of its
// own: the limits it computes are the ones the table implies, the file
// written holds them, a start with the same key reuses them without timing,
// any one part of the key that differs recomputes, and a cache file that is
// corrupt, unreadable or for another key is recomputed with a warning, never
// fatal (docs/calibration.md, "The cache").
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/runtime/calibration.h"
#include "tests/common/temp_path.h"
#include "tests/runtime/fake_model.h"
#include "tests/runtime/scripted_form_timer.h"

namespace lion::runtime {
namespace {

using kernels::Form;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kBatch = kCalibrationBatch;

// The table for a text model served up to 128 tokens: lengths 32, 64, 128;
// chunk sizes compared at 128 (batched, so chunk 64 there is also a row's
// entry). Chunk 64 is the fastest; batched, full is
// near the best to 64 and the RNN form never the fastest; alone, full wins at
// 32 only and the RNN form is the fastest from 64.
void ScriptTable(ScriptedFormTimer& timer) {
  // Milliseconds: the production plan stops a climb after a call over 0.1 s.
  constexpr double ms = 1e-3;
  timer.Script(Form::kChunk, 128, kBatch, {4.5 * ms}, 32);
  timer.Script(Form::kChunk, 128, kBatch, {4.2 * ms}, 128);
  timer.Row(32, kBatch, 1.0 * ms, 1.5 * ms, 2.0 * ms, 64);
  timer.Row(64, kBatch, 2.0 * ms, 2.05 * ms, 3.0 * ms, 64);
  timer.Row(128, kBatch, 5.0 * ms, 4.0 * ms, 4.1 * ms, 64);
  timer.Row(32, 1, 1.0 * ms, 1.2 * ms, 1.1 * ms, 64);
  timer.Row(64, 1, 3.0 * ms, 2.2 * ms, 2.0 * ms, 64);
  timer.Row(128, 1, -1, 4.4 * ms, 4.0 * ms, 64);
}

class ReuseTest : public ::testing::Test {
 protected:
  ReuseTest() {
    setup_.max_length = 128;
    setup_.form.calibration_dir = testing_util::UniqueTempPath(
        std::string("reuse_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    setup_.context = CalibrationContext{"cpu: Test CPU [avx2 fma]", "test 1.0", 2};
    setup_.clock = &clock_;
    model_ = FakeModel::Describe("m", "mlm");
  }

  absl::StatusOr<CalibrationOutcome> Obtain(const ModelDescription& d) {
    return ObtainCalibration(d, setup_, [this]() -> absl::StatusOr<std::unique_ptr<FormTimer>> {
      ++timers_made_;
      auto timer = std::make_unique<ScriptedFormTimer>();
      ScriptTable(*timer);
      return std::unique_ptr<FormTimer>(std::move(timer));
    });
  }

  FakeClock clock_;
  CalibrationSetup setup_;
  ModelDescription model_;
  int timers_made_ = 0;
};

void ExpectTheTablesLimits(const Calibration& c) {
  EXPECT_EQ(c.chunk_size, 64);
  EXPECT_EQ(c.full_max_tokens, 64);
  EXPECT_EQ(c.rnn_min_tokens, 0);
  EXPECT_EQ(c.single.full_max_tokens, 32);
  EXPECT_EQ(c.single.rnn_min_tokens, 64);
}

TEST_F(ReuseTest, ComputedLimitsAreWrittenAndReusedWithoutTiming) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->source, CalibrationSource::kComputed);
  ExpectTheTablesLimits(first->calibration);
  // The file holds the limits (not only the table they came from).
  std::ifstream in(first->cache_path);
  const nlohmann::json file = nlohmann::json::parse(in);
  EXPECT_EQ(file.at("calibration").at("full_max_tokens"), 64);
  EXPECT_EQ(file.at("calibration").at("single").at("rnn_min_tokens"), 64);
  EXPECT_EQ(file.at("computed_for_model"), "m");
  // The second start times nothing: a timer it made would fail the test.
  auto second =
      ObtainCalibration(model_, setup_, []() -> absl::StatusOr<std::unique_ptr<FormTimer>> {
        ADD_FAILURE() << "timed although the cache matches";
        return absl::InternalError("no timer");
      });
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->source, CalibrationSource::kCached);
  EXPECT_TRUE(second->warnings.empty());
  ExpectTheTablesLimits(second->calibration);
}

// Cached limits are taken from the file, not recomputed: a file edited by
// hand (same key) is what the next start uses.
TEST_F(ReuseTest, TheCachedLimitsAreTheFilesOwn) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok());
  nlohmann::json file;
  {
    std::ifstream in(first->cache_path);
    file = nlohmann::json::parse(in);
  }
  file["calibration"]["full_max_tokens"] = 777;
  std::ofstream(first->cache_path) << file.dump();
  auto second = Obtain(model_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->source, CalibrationSource::kCached);
  EXPECT_EQ(second->calibration.full_max_tokens, 777);
  EXPECT_EQ(timers_made_, 1);
}

TEST_F(ReuseTest, AnyOnePartOfTheKeyThatDiffersRecomputes) {
  ASSERT_TRUE(Obtain(model_).ok());
  const CalibrationSetup base_setup = setup_;
  const ModelDescription base_model = model_;
  struct Change {
    const char* what;
    std::function<void(CalibrationSetup&, ModelDescription&)> apply;
  };
  const std::vector<Change> changes = {
      {"device", [](auto& s, auto&) { s.context.device_identity = "cuda: Test GPU (sm_90)"; }},
      {"threads", [](auto& s, auto&) { s.context.threads = 8; }},
      {"software", [](auto& s, auto&) { s.context.software = "test 1.1"; }},
      {"dtype", [](auto&, auto& d) { d.dtype = "bfloat16"; }},
      {"head count", [](auto&, auto& d) { d.num_heads = 4; }},  // same width
      {"head size", [](auto&, auto& d) { d.hidden_size = 16; }},
      {"variant", [](auto&, auto& d) { d.variant = "lit"; }},
      {"longest input", [](auto& s, auto&) { s.max_length = 256; }},
      {"memory budget", [](auto& s, auto&) { s.form.memory_budget_bytes = 12345; }},
      {"pinned chunk size", [](auto& s, auto&) { s.form.chunk_size = 64; }},
  };
  for (const Change& change : changes) {
    setup_ = base_setup;
    model_ = base_model;
    change.apply(setup_, model_);
    const int before = timers_made_;
    // The scripted table may not cover the changed plan: what matters is
    // that a calibration was started instead of the file being reused.
    auto outcome = Obtain(model_);
    EXPECT_EQ(timers_made_, before + 1) << change.what;
    if (outcome.ok()) {
      EXPECT_EQ(outcome->source, CalibrationSource::kComputed) << change.what;
    }
  }
  // Nothing that is not in the key: name, depth, width of the MLP, folder.
  setup_ = base_setup;
  model_ = base_model;
  model_.name = "other";
  model_.num_layers = 24;
  model_.model_dir = "/elsewhere";
  auto same = Obtain(model_);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->source, CalibrationSource::kCached);
  EXPECT_EQ(timers_made_, 1 + static_cast<int>(changes.size()));
}

// Each bad file: computed again with a warning naming the file, written back
// (the next start reuses it), and never an error.
TEST_F(ReuseTest, ACorruptOrForeignCacheFileIsRecomputedNotFatal) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok());
  const std::string path = first->cache_path;
  std::string good;
  {
    std::ifstream in(path);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  nlohmann::json foreign = nlohmann::json::parse(good);
  foreign["key"]["threads"] = 99;  // a file of another key under this name
  nlohmann::json out_of_range = nlohmann::json::parse(good);
  out_of_range["calibration"]["chunk_size"] = 0;
  nlohmann::json wrong_type = nlohmann::json::parse(good);
  wrong_type["calibration"]["rnn_min_tokens"] = "many";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"empty", ""},
      {"truncated", good.substr(0, good.size() / 2)},
      {"binary", std::string("\0\xff\xfe garbage", 11)},
      {"a JSON array", "[1, 2, 3]"},
      {"another key", foreign.dump()},
      {"a limit out of range", out_of_range.dump()},
      {"a limit of the wrong type", wrong_type.dump()},
  };
  int timers = timers_made_;
  for (const auto& [what, text] : bad) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    auto outcome = Obtain(model_);
    ASSERT_TRUE(outcome.ok()) << what << ": " << outcome.status();
    EXPECT_EQ(outcome->source, CalibrationSource::kComputed) << what;
    EXPECT_EQ(timers_made_, ++timers) << what;
    ExpectTheTablesLimits(outcome->calibration);
    ASSERT_THAT(outcome->warnings, SizeIs(1)) << what;
    EXPECT_THAT(outcome->warnings[0], HasSubstr("calibration cache ignored")) << what;
    EXPECT_THAT(outcome->warnings[0], HasSubstr(path)) << what;
    auto next = Obtain(model_);
    ASSERT_TRUE(next.ok()) << what;
    EXPECT_EQ(next->source, CalibrationSource::kCached) << what << ": not written back";
  }
}

// A folder where the file should be: cannot be read nor replaced. The
// limits are computed and served, with both troubles in the warnings.
TEST_F(ReuseTest, AnUnreadableAndUnwritableCacheEntryStillCalibrates) {
  auto first = Obtain(model_);
  ASSERT_TRUE(first.ok());
  std::filesystem::remove(first->cache_path);
  std::filesystem::create_directories(first->cache_path + "/in-the-way");
  auto outcome = Obtain(model_);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->source, CalibrationSource::kComputed);
  ExpectTheTablesLimits(outcome->calibration);
  ASSERT_THAT(outcome->warnings, SizeIs(2));
  EXPECT_THAT(outcome->warnings[0], HasSubstr("calibration cache ignored"));
  EXPECT_THAT(outcome->warnings[1], HasSubstr("calibration not cached"));
}

}  // namespace
}  // namespace lion::runtime
