#include "client/text_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "absl/strings/str_split.h"
#include "tests/common/temp_path.h"

namespace lion::client {
namespace {

size_t Words(const std::string& text) {
  return std::vector<std::string>(absl::StrSplit(text, ' ')).size();
}

TEST(TextSourceTest, RejectsMalformedSpecs) {
  for (const char* spec : {"", "fixed", "fixed:0", "fixed:x", "uniform:5", "uniform:9:3",
                           "normal:1:2", "file:/nonexistent/texts.txt"}) {
    EXPECT_FALSE(TextSource::Create(spec, 1).ok()) << spec;
  }
}

TEST(TextSourceTest, FixedLength) {
  auto src = TextSource::Create("fixed:128", 7);
  ASSERT_TRUE(src.ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Words((*src)->Next()), 128u);
}

TEST(TextSourceTest, UniformCoversTheRange) {
  auto src = TextSource::Create("uniform:3:6", 7);
  ASSERT_TRUE(src.ok());
  std::set<size_t> seen;
  for (int i = 0; i < 400; ++i) {
    const size_t n = Words((*src)->Next());
    EXPECT_GE(n, 3u);
    EXPECT_LE(n, 6u);
    seen.insert(n);
  }
  EXPECT_EQ(seen, (std::set<size_t>{3, 4, 5, 6}));
}

TEST(TextSourceTest, SameSeedSameTexts) {
  auto a = TextSource::Create("uniform:1:50", 42);
  auto b = TextSource::Create("uniform:1:50", 42);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*a)->Next(), (*b)->Next());
}

TEST(TextSourceTest, FileLinesSkippingEmptyOnes) {
  const std::string path = testing_util::UniqueTempPath("texts.txt");
  std::ofstream(path) << "first line\n\nsecond line\n";
  auto src = TextSource::Create("file:" + path, 3);
  ASSERT_TRUE(src.ok());
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert((*src)->Next());
  EXPECT_EQ(seen, (std::set<std::string>{"first line", "second line"}));
  std::ofstream(path) << "\n\n";
  EXPECT_FALSE(TextSource::Create("file:" + path, 3).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace lion::client
