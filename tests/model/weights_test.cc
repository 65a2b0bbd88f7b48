// Weights::Get reports NaN and infinite weights as such (F32 and F16), and
// LionModel::Load refuses a default model whose weights hold a NaN, naming
// the tensor instead of failing later in a forward.
#include "server/model/weights.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/model/lion_model.h"
#include "server/model/safetensors.h"
#include "tests/common/temp_path.h"
#include "tests/model/safetensors_test_util.h"

namespace lion::model {
namespace {

using ::lion::model::testing::Encode;
using ::lion::model::testing::F32Bytes;
using ::lion::model::testing::U16Bytes;
using ::lion::model::testing::WriteFile;
using ::testing::HasSubstr;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

absl::Status GetStatus(const std::string& bytes, const std::string& name,
                       const std::vector<int64_t>& shape) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open(WriteFile("weights", bytes));
  if (!file.ok()) return file.status();
  Weights weights(file->get());
  return weights.Get(name, shape).status();
}

std::string OneF32(const std::vector<float>& values) {
  return Encode(R"({"w":{"dtype":"F32","shape":[)" + std::to_string(values.size()) +
                    R"(],"data_offsets":[0,)" + std::to_string(values.size() * 4) + "]}}",
                F32Bytes(values));
}

TEST(WeightsTest, FiniteWeightsLoad) {
  EXPECT_TRUE(GetStatus(OneF32({1.0f, -3e38f, 0.0f}), "w", {3}).ok());
}

TEST(WeightsTest, NanIsReportedWithCountAndFirstIndex) {
  const absl::Status s = GetStatus(OneF32({1.0f, 2.0f, kNan, 4.0f, kNan}), "w", {5});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("tensor 'w' has 2 non-finite values of 5 (first at flat index 2: nan)"));
}

TEST(WeightsTest, InfinityIsReported) {
  const absl::Status s = GetStatus(OneF32({-kInf, 1.0f}), "w", {2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("1 non-finite values of 2 (first at flat index 0: -inf)"));
}

TEST(WeightsTest, F16InfinityIsReported) {
  // F16 0x7C00 is +inf; 0x3C00 is 1.0.
  const std::string bytes = Encode(R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}})",
                                   U16Bytes({0x3C00, 0x3C00, 0x3C00, 0x7C00}));
  const absl::Status s = GetStatus(bytes, "h", {2, 2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("tensor 'h' has 1 non-finite values of 4 (first at flat index 3: inf)"));
}

std::string SourceDir() {
  const char* root = std::getenv("LION_SOURCE_DIR");
  return root != nullptr ? root : LION_SOURCE_DIR_DEFAULT;
}

// Copies a default model and writes `value` over the first float of `tensor`.
std::string PoisonedCopy(const std::string& model, const std::string& tensor, float value) {
  const std::string source = SourceDir() + "/models/" + model;
  const std::string dir = testing_util::UniqueTempPath("poisoned_" + model);
  std::filesystem::create_directories(dir);
  for (const char* name : {"config.json", "model.safetensors"}) {
    std::filesystem::copy_file(source + "/" + name, dir + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  }
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::Open(dir + "/model.safetensors");
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return dir;
  const absl::StatusOr<TensorInfo> info = (*file)->info(tensor);
  EXPECT_TRUE(info.ok()) << info.status();
  std::fstream f(dir + "/model.safetensors", std::ios::binary | std::ios::in | std::ios::out);
  uint64_t header_length = 0;
  f.read(reinterpret_cast<char*>(&header_length), 8);  // little-endian host
  f.seekp(static_cast<std::streamoff>(8 + header_length + info->begin));
  f.write(reinterpret_cast<const char*>(&value), sizeof(value));
  return dir;
}

TEST(WeightsTest, DefaultModelWithANanWeightFailsToLoadNamingTheTensor) {
  const std::string model = "lion-digits";
  if (!std::filesystem::exists(SourceDir() + "/models/" + model + "/model.safetensors")) {
    GTEST_SKIP() << "default model " << model << " not present (scripts/train_default_models)";
  }
  ASSERT_TRUE(LionModel::Load(SourceDir() + "/models/" + model).ok());
  const std::string tensor = "blocks.1.mlp.fc1.weight";
  absl::StatusOr<std::unique_ptr<LionModel>> loaded =
      LionModel::Load(PoisonedCopy(model, tensor, kNan));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << loaded.status();
  EXPECT_THAT(std::string(loaded.status().message()),
              HasSubstr("tensor '" + tensor + "' has 1 non-finite values"));
}

}  // namespace
}  // namespace lion::model
