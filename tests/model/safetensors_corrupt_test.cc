// Every kind of truncated, corrupt or mismatched safetensors file must give a
// clear INVALID_ARGUMENT (or NOT_FOUND) that names the file, never a crash.
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/model/safetensors.h"
#include "tests/model/safetensors_test_util.h"

namespace lion::model {
namespace {

using ::lion::model::testing::Encode;
using ::lion::model::testing::F32Bytes;
using ::lion::model::testing::WriteFile;
using ::testing::HasSubstr;

struct CorruptCase {
  std::string name;
  std::string bytes;
  std::string message;  // expected part of the error
};

// One valid F32 tensor "t" of shape [2] whose entry is `entry`.
std::string WithEntry(const std::string& entry, const std::string& data = F32Bytes({1.0f, 2.0f})) {
  return Encode(R"({"t":)" + entry + "}", data);
}

std::vector<CorruptCase> Cases() {
  const std::string valid_header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = F32Bytes({1.0f, 2.0f});
  return {
      {"empty file", "", "file is 0 bytes, too short"},
      {"7-byte file", std::string(7, '\0'), "file is 7 bytes"},
      {"header length huge", Encode(valid_header, data, uint64_t{1} << 62), "exceeds the limit"},
      {"header length 200 MB", Encode(valid_header, data, uint64_t{200} << 20),
       "exceeds the limit"},
      {"truncated header", Encode(valid_header, "").substr(0, 20), "runs past the end"},
      {"header length past end", Encode(valid_header, data, valid_header.size() + 9),
       "runs past the end"},
      {"truncated data", Encode(valid_header, data.substr(0, 5)), "outside the data section of 5"},
      {"bad JSON", Encode(R"({"t":{"dtype":"F32",)", ""), "not valid JSON"},
      {"JSON not an object", Encode("[1,2]", ""), "not a JSON object"},
      {"empty header", Encode("", ""), "not valid JSON"},
      {"binary garbage header", Encode(std::string("\xff\xfe\x00\x01", 4), ""), "not valid JSON"},
      {"deeply nested JSON", Encode(std::string(5000, '[') + std::string(5000, ']'), ""),
       "nested too deeply"},
      {"entry not an object", WithEntry("[1]"), "tensor 't': entry is not a JSON object"},
      {"missing dtype", WithEntry(R"({"shape":[2],"data_offsets":[0,8]})"), "\"dtype\""},
      {"dtype not a string", WithEntry(R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})"),
       "\"dtype\""},
      {"unsupported dtype I64", WithEntry(R"({"dtype":"I64","shape":[1],"data_offsets":[0,8]})"),
       "dtype \"I64\" is not supported (supported: F32, F16, BF16)"},
      {"unknown dtype", WithEntry(R"({"dtype":"Q7","shape":[2],"data_offsets":[0,8]})"),
       "dtype \"Q7\" is not supported"},
      {"missing shape", WithEntry(R"({"dtype":"F32","data_offsets":[0,8]})"), "\"shape\""},
      {"negative shape", WithEntry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
       "shape entry -2"},
      {"fractional shape", WithEntry(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
       "shape entry 2.0"},
      {"missing data_offsets", WithEntry(R"({"dtype":"F32","shape":[2]})"), "data_offsets"},
      {"one offset", WithEntry(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"),
       "data_offsets"},
      {"negative offset", WithEntry(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
       "data_offsets"},
      {"begin after end", WithEntry(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"),
       "data_offsets [8, 0] outside"},
      {"offsets out of range", WithEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"),
       "data_offsets [0, 16] outside the data section of 8 bytes"},
      {"offsets near uint64 max",
       WithEntry(R"({"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,0]})"),
       "data_offsets"},
      {"shape/size mismatch", WithEntry(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
       "shape [3] of F32 needs 12 bytes, data_offsets give 8"},
      {"F16 size mismatch", WithEntry(R"({"dtype":"F16","shape":[2],"data_offsets":[0,8]})"),
       "needs 4 bytes"},
      {"shape product overflows",
       WithEntry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
       "overflows"},
      {"byte size overflows",
       WithEntry(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]})"),
       "overflows"},
      {"dimension over int64",
       WithEntry(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]})"),
       "not a non-negative 64-bit integer"},
      {"zero times huge still overflows-safe",
       WithEntry(R"({"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,8]})"),
       "needs 0 bytes, data_offsets give 8"},
      {"overlapping tensors",
       Encode(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              F32Bytes({1, 2, 3})),
       "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
      {"identical ranges",
       Encode(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("b":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})",
              data),
       "overlap"},
      {"metadata not an object", Encode(R"({"__metadata__":[1]})", ""), "\"__metadata__\""},
      {"metadata value not a string", Encode(R"({"__metadata__":{"k":1}})", ""),
       "value of \"k\" is not a string"},
  };
}

TEST(SafetensorsCorruptTest, EveryCorruptFileIsAClearError) {
  for (const CorruptCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = WriteFile("corrupt", c.bytes);
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << file.status();
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(path + ": "));
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(c.message));
    std::filesystem::remove(path);
  }
}

TEST(SafetensorsCorruptTest, EveryTruncationOfAValidFileIsAnError) {
  const std::string valid = Encode(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]}})",
                                   F32Bytes({1, 2}) + std::string(6, '\1'));
  for (size_t n = 0; n < valid.size(); ++n) {
    const std::string path = WriteFile("cut", valid.substr(0, n));
    EXPECT_FALSE(SafetensorsFile::Open(path).ok()) << "cut at " << n;
    std::filesystem::remove(path);
  }
  const std::string path = WriteFile("whole", valid);
  EXPECT_TRUE(SafetensorsFile::Open(path).ok());
  std::filesystem::remove(path);
}

TEST(SafetensorsCorruptTest, MissingFileIsNotFoundAndDirectoryIsInvalid) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> missing =
      SafetensorsFile::Open("/nonexistent/lion/model.safetensors");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("/nonexistent/lion"));
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> dir =
      SafetensorsFile::Open(::testing::TempDir());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace lion::model
