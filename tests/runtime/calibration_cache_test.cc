#include "server/runtime/calibration_cache.h"

#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/runtime/device_identity.h"
#include "tests/common/temp_path.h"
#include "tests/runtime/fake_model.h"

namespace lion::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

config::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

CalibrationKey Key(const ModelDescription& d, int64_t threads = 2) {
  return KeyFor(d, PlanFor(d, 4096, config::FormOptions()),
                CalibrationContext{"cpu: X [avx2]", "v1", threads});
}

TEST(CalibrationCacheTest, DefaultFolderIsTheUsersCache) {
  EXPECT_EQ(DefaultCalibrationDir(Env({{"XDG_CACHE_HOME", "/x/cache"}, {"HOME", "/home/u"}})),
            "/x/cache/lion-serve/calibration");
  // A relative XDG_CACHE_HOME is invalid by the XDG spec and ignored.
  EXPECT_EQ(DefaultCalibrationDir(Env({{"XDG_CACHE_HOME", "rel"}, {"HOME", "/home/u"}})),
            "/home/u/.cache/lion-serve/calibration");
  EXPECT_EQ(DefaultCalibrationDir(Env({})), "");
}

TEST(CalibrationCacheTest, KeyIgnoresNameDepthAndWidthBeyondTheHeads) {
  const ModelDescription a = FakeModel::Describe("a", "mlm");
  ModelDescription b = a;
  b.name = "b";
  b.num_layers = 24;
  b.model_dir = "/other";
  EXPECT_EQ(Key(a), Key(b));
  EXPECT_THAT(Key(a).FileName(), MatchesRegex("[0-9a-f]{16}\\.json"));
  EXPECT_FALSE(Key(a) == Key(a, 4));
  ModelDescription c = a;
  c.num_heads = 4;  // same width, other head shape
  EXPECT_FALSE(Key(a) == Key(c));
  EXPECT_NE(Key(a).FileName(), Key(c).FileName());
}

TEST(CalibrationCacheTest, SaveLoadRoundTripAndErrors) {
  const ModelDescription d = FakeModel::Describe("m", "mlm");
  const CalibrationKey key = Key(d);
  const std::string path = CachePath(testing_util::UniqueTempPath("cache_dir"), key);
  EXPECT_EQ(LoadCached(path, key).status().code(), absl::StatusCode::kNotFound);
  Calibration c;
  c.full_max_tokens = 256;
  c.chunk_size = 32;
  c.rnn_min_tokens = 4096;
  c.single = FormThresholds{32, 128};
  TimingTable table;
  table.batched = {FormTimes{32, {1.0, 2.0, std::nullopt}}};
  ASSERT_TRUE(SaveCached(path, key, c, table, "m").ok());
  auto loaded = LoadCached(path, key);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->full_max_tokens, 256);
  EXPECT_EQ(loaded->chunk_size, 32);
  EXPECT_EQ(loaded->rnn_min_tokens, 4096);
  EXPECT_EQ(loaded->single.full_max_tokens, 32);
  EXPECT_EQ(loaded->single.rnn_min_tokens, 128);
  // The same file asked for under another key (a hash collision) is no hit.
  EXPECT_EQ(LoadCached(path, Key(d, 8)).status().code(), absl::StatusCode::kFailedPrecondition);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"computed_for_model\": \"m\""));
  EXPECT_THAT(text, HasSubstr("\"rnn\": null"));  // untimed forms stay visible
  std::ofstream(path) << "{\"key\": ";
  EXPECT_EQ(LoadCached(path, key).status().code(), absl::StatusCode::kDataLoss);
}

TEST(DeviceIdentityTest, CpuModelAndSortedVectorExtensions) {
  EXPECT_EQ(CpuIdentity("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"
                        "flags\t\t: fpu sse4_2 avx2 fma avx512f aes avx sse4_1\n"
                        "processor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n"),
            "cpu: AMD EPYC 7B13 [avx avx2 avx512f fma sse4_1 sse4_2]");
  EXPECT_EQ(CpuIdentity("processor\t: 0\nFeatures\t: fp asimd sve i8mm crc32\nCPU part\t: 0xd40\n"),
            "cpu: 0xd40 [asimd i8mm sve]");
  EXPECT_EQ(CpuIdentity(""), "cpu: unknown [unknown]");
  EXPECT_THAT(DeviceIdentity("cpu"), HasSubstr("cpu: "));
}

}  // namespace
}  // namespace lion::runtime
