// SafetensorsFile on valid files: values of every dtype, owned copies that
// the file's later truncation or rewrite cannot reach, alignment, metadata,
// shapes; files written by the Python safetensors package; and the load time
// of a 100 MB file (printed only).
#include "server/model/safetensors.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/model/safetensors_test_util.h"

namespace lion::model {
namespace {

using ::lion::model::testing::Encode;
using ::lion::model::testing::F32Bytes;
using ::lion::model::testing::TempPath;
using ::lion::model::testing::U16Bytes;
using ::lion::model::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<float> Values(const at::Tensor& t) {
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_TRUE(t.is_contiguous());
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}

std::unique_ptr<SafetensorsFile> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : nullptr;
}

// Two F32 tensors; header padded with spaces to a multiple of 8 as the
// official writer does.
std::string TwoTensorFile() {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  return Encode(header, F32Bytes({1, 2, 3, 4, 5, 6, -1.5f, 0.25f, 1e30f}));
}

TEST(SafetensorsTest, ReadsF32TensorsAndMetadata) {
  auto file = OpenOrDie(WriteFile("two", TwoTensorFile()));
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(file->names(), ElementsAre("a", "b"));
  EXPECT_THAT(file->metadata(),
              ElementsAre(std::pair<const std::string, std::string>("format", "pt")));
  absl::StatusOr<at::Tensor> a = file->Float32("a", {2, 3});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->sizes().vec(), (std::vector<int64_t>{2, 3}));
  EXPECT_THAT(Values(*a), ElementsAre(1, 2, 3, 4, 5, 6));
  absl::StatusOr<at::Tensor> b = file->Float32("b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(Values(*b), ElementsAre(-1.5f, 0.25f, 1e30f));
  absl::StatusOr<TensorInfo> info = file->info("b");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dtype, DType::kF32);
  EXPECT_EQ(info->numel, 3);
  EXPECT_EQ(info->begin, 24u);
  EXPECT_EQ(info->end, 36u);
}

TEST(SafetensorsTest, F32IsAnOwnedCopyThatOutlivesTheFileAndNeverWritesIt) {
  const std::string path = WriteFile("copy", TwoTensorFile());
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  at::Tensor first = *file->Float32("a");
  at::Tensor second = *file->Float32("a");
  EXPECT_NE(first.data_ptr(), second.data_ptr());  // each call reads its own copy
  file.reset();
  EXPECT_THAT(Values(first), ElementsAre(1, 2, 3, 4, 5, 6));
  first.add_(10.0f);
  EXPECT_THAT(Values(first), ElementsAre(11, 12, 13, 14, 15, 16));
  EXPECT_THAT(Values(second), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(Values(*OpenOrDie(path)->Float32("a")), ElementsAre(1, 2, 3, 4, 5, 6));
}

// What a mapping of the file got wrong: truncation (SIGBUS on the next read
// of a mapped page) and an in-place rewrite (the new bytes show through).
TEST(SafetensorsTest, TensorsReadSurviveTruncationAndInPlaceRewriteOfTheFile) {
  const std::string path = WriteFile("changing", TwoTensorFile());
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  at::Tensor a = *file->Float32("a");
  at::Tensor b = *file->Float32("b");
  std::filesystem::resize_file(path, 0);
  EXPECT_THAT(Values(a), ElementsAre(1, 2, 3, 4, 5, 6));
  // Rewritten in place, as cp does (O_TRUNC, then write): same inode.
  std::string other = TwoTensorFile();
  other.replace(other.size() - 36, 36, F32Bytes({9, 9, 9, 9, 9, 9, 9, 9, 9}));
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(other.data(), static_cast<std::streamsize>(other.size()));
  EXPECT_THAT(Values(a), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(Values(b), ElementsAre(-1.5f, 0.25f, 1e30f));
  EXPECT_THAT(Values(*OpenOrDie(path)->Float32("a")), ElementsAre(9, 9, 9, 9, 9, 9));
}

TEST(SafetensorsTest, TruncationAfterOpenIsAbortedNamingTheFile) {
  const std::string path = WriteFile("shrinks", TwoTensorFile());
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(file->CheckUnchanged().ok());
  std::filesystem::resize_file(path, 20);
  absl::StatusOr<at::Tensor> a = file->Float32("a");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kAborted) << a.status();
  EXPECT_THAT(std::string(a.status().message()), HasSubstr(path + ": file ends at byte"));
  const absl::Status changed = file->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kAborted) << changed;
  EXPECT_THAT(std::string(changed.message()), HasSubstr("changed while it was being read"));
}

TEST(SafetensorsTest, CheckUnchangedSeesARewriteOfTheSameSize) {
  const std::string path = WriteFile("rewritten", TwoTensorFile());
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  const auto opened_mtime = std::filesystem::last_write_time(path);
  const std::string same_size = TwoTensorFile();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(same_size.data(), static_cast<std::streamsize>(same_size.size()));
  // A rewrite within the file system's timestamp granularity keeps the
  // modification time; set it apart so the check is deterministic.
  std::filesystem::last_write_time(path, opened_mtime + std::chrono::seconds(1));
  const absl::Status changed = file->CheckUnchanged();
  EXPECT_EQ(changed.code(), absl::StatusCode::kAborted) << changed;
  EXPECT_THAT(std::string(changed.message()), HasSubstr(path));
}

TEST(SafetensorsTest, FifoIsRejectedWithoutWaitingForAWriter) {
  const std::string path = TempPath("fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << file.status();
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(path + ": not a regular file"));
}

TEST(SafetensorsTest, ConvertsF16AndBF16ToFloat32) {
  // F16: 1.0, -2.5, 0.5, 65504 (max); BF16: 1.0, -2.0, 3.140625, 2^-7.
  const std::string header = R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[8,16]}})";
  auto file = OpenOrDie(WriteFile(
      "half", Encode(header, U16Bytes(std::vector<uint16_t>{0x3C00, 0xC100, 0x3800, 0x7BFF, 0x3F80,
                                                            0xC000, 0x4049, 0x3C00}))));
  ASSERT_NE(file, nullptr);
  absl::StatusOr<at::Tensor> h = file->Float32("h", {2, 2});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_THAT(Values(*h), ElementsAre(1.0f, -2.5f, 0.5f, 65504.0f));
  absl::StatusOr<at::Tensor> b = file->Float32("b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(Values(*b), ElementsAre(1.0f, -2.0f, 3.140625f, 0.0078125f));
}

TEST(SafetensorsTest, UnalignedDataIsReadCorrectly) {
  // The header is padded to a multiple of 8, so data offset 1 leaves the
  // floats 1 byte off 4-byte alignment in the file.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  header.resize((header.size() + 7) / 8 * 8, ' ');
  std::string data(1, '\x7f');
  data += F32Bytes({3.5f, -7.0f});
  auto file = OpenOrDie(WriteFile("unaligned", Encode(header, data)));
  ASSERT_NE(file, nullptr);
  absl::StatusOr<at::Tensor> x = file->Float32("x");
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_THAT(Values(*x), ElementsAre(3.5f, -7.0f));
}

TEST(SafetensorsTest, ScalarAndEmptyTensors) {
  const std::string header = R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                             R"("e":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]},)"
                             R"("e2":{"dtype":"F32","shape":[5,0],"data_offsets":[0,0]}})";
  auto file = OpenOrDie(WriteFile("scalar", Encode(header, F32Bytes({42.0f}))));
  ASSERT_NE(file, nullptr);
  absl::StatusOr<at::Tensor> s = file->Float32("s");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->dim(), 0);
  EXPECT_EQ(s->item<float>(), 42.0f);
  EXPECT_EQ(file->Float32("e")->sizes().vec(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(file->Float32("e2")->numel(), 0);
}

TEST(SafetensorsTest, MissingTensorAndWrongExpectedShapeNameTensorAndFile) {
  const std::string path = WriteFile("names", TwoTensorFile());
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  absl::StatusOr<at::Tensor> missing = file->Float32("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'nope'"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path));
  absl::StatusOr<at::Tensor> wrong = file->Float32("a", {3, 2});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(wrong.status().message()),
              HasSubstr(path + ": tensor 'a' has shape [2, 3], expected [3, 2]"));
  EXPECT_FALSE(file->Float32("b", {3, 1}).ok());
  EXPECT_FALSE(file->contains("nope"));
  EXPECT_TRUE(file->contains("a"));
}

// Files written by the Python safetensors package (safetensors.torch.save_file)
// in the project venv, read back here.
TEST(SafetensorsTest, ReadsFilesWrittenByPythonSafetensors) {
  const std::string python = LION_TEST_PYTHON;
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no project Python at " << python;
  const std::string path = TempPath("python");
  const std::string script =
      "import sys, torch\n"
      "from safetensors.torch import save_file\n"
      "save_file({'f32': torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1,\n"
      "           'f16': (torch.arange(4, dtype=torch.float32) * 0.25 - 0.5).half(),\n"
      "           'bf16': torch.tensor([1.0, -2.0, 3.140625, 0.0078125]).bfloat16(),\n"
      "           'scalar': torch.tensor(7.0)}, sys.argv[1], metadata={'source': 'pytest'})\n";
  const std::string command = python + " -c \"" + script + "\" " + path;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto file = OpenOrDie(path);
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(file->names(), ElementsAre("bf16", "f16", "f32", "scalar"));
  EXPECT_EQ(file->metadata().at("source"), "pytest");
  EXPECT_THAT(Values(*file->Float32("f32", {2, 3})), ElementsAre(-1, -0.5f, 0, 0.5f, 1, 1.5f));
  EXPECT_THAT(Values(*file->Float32("f16", {4})), ElementsAre(-0.5f, -0.25f, 0, 0.25f));
  EXPECT_THAT(Values(*file->Float32("bf16", {4})), ElementsAre(1, -2, 3.140625f, 0.0078125f));
  EXPECT_EQ(file->Float32("scalar")->item<float>(), 7.0f);
  std::filesystem::remove(path);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Prints the load time of a 100 MiB file (F32 read, then F16 read and converted).
TEST(SafetensorsTest, LoadTimeOf100MBFile) {
  constexpr int64_t kBytes = int64_t{100} << 20;
  for (const char* dtype : {"F32", "F16"}) {
    const int64_t elem = std::string(dtype) == "F32" ? 4 : 2;
    const int64_t numel = kBytes / elem / 4;  // four tensors
    std::string header = "{";
    for (int i = 0; i < 4; ++i) {
      header += std::string(i ? "," : "") + "\"w" + std::to_string(i) + "\":{\"dtype\":\"" + dtype +
                "\",\"shape\":[" + std::to_string(numel / 1024) + ",1024],\"data_offsets\":[" +
                std::to_string(i * numel * elem) + "," + std::to_string((i + 1) * numel * elem) +
                "]}";
    }
    header += "}";
    const std::string path = WriteFile("big", Encode(header, std::string(kBytes, '\0')));
    const auto start = std::chrono::steady_clock::now();
    auto file = OpenOrDie(path);
    ASSERT_NE(file, nullptr);
    const double open_s = Seconds(start);
    double sum = 0;
    for (const std::string& name : file->names()) {
      absl::StatusOr<at::Tensor> t = file->Float32(name);
      ASSERT_TRUE(t.ok()) << t.status();
      sum += t->sum().item<double>();  // touches every page
    }
    EXPECT_EQ(sum, 0.0);
    std::printf("100 MiB %s file: open %.2f ms, open + all tensors as fp32 + sum %.1f ms\n", dtype,
                open_s * 1e3, Seconds(start) * 1e3);
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace lion::model
