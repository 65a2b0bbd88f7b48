#include "server/tokenizer/vocab.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::tokenizer {
namespace {

using ::testing::HasSubstr;

TEST(VocabTest, IdsAreLineNumbersWithTrailingWhitespaceTrimmed) {
  auto vocab = Vocab::Parse("[PAD]\r\nhello \nworld\t\n##s\n", "test");
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->size(), 4);
  EXPECT_EQ(vocab->Find("[PAD]"), 0);
  EXPECT_EQ(vocab->Find("hello"), 1);
  EXPECT_EQ(vocab->Find("world"), 2);
  EXPECT_EQ(vocab->Find("##s"), 3);
  EXPECT_EQ(vocab->Find("hello "), Vocab::kNotFound);
  EXPECT_EQ(vocab->Token(2), "world");
  EXPECT_EQ(vocab->Token(4), "");
  EXPECT_EQ(vocab->Token(-1), "");
}

TEST(VocabTest, LastLineWinsForADuplicateAndAFinalLineNeedsNoNewline) {
  auto vocab = Vocab::Parse("a\nb\na\nc", "test");
  ASSERT_TRUE(vocab.ok());
  EXPECT_EQ(vocab->size(), 4);
  EXPECT_EQ(vocab->Find("a"), 2);
  EXPECT_EQ(vocab->Find("c"), 3);
}

TEST(VocabTest, RejectsEmptyAndNonUtf8) {
  EXPECT_EQ(Vocab::Parse("", "empty").status().code(), absl::StatusCode::kInvalidArgument);
  const absl::Status bad = Vocab::Parse("ok\nb\xFFo\n", "v.txt").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("v.txt line 2"));
}

TEST(VocabTest, MissingFileIsNotFound) {
  EXPECT_EQ(Vocab::Load("/nonexistent/vocab.txt").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lion::tokenizer
