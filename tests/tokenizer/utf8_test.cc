#include "server/tokenizer/utf8.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lion::tokenizer {
namespace {

using ::testing::HasSubstr;

TEST(DecodeUtf8Test, DecodesEveryLengthWithByteSpans) {
  std::vector<Utf8Char> chars;
  ASSERT_TRUE(DecodeUtf8("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80", 10, &chars).ok());
  ASSERT_EQ(chars.size(), 4u);
  EXPECT_EQ(chars[0].code_point, U'a');
  EXPECT_EQ(chars[1].code_point, U'\u00E9');
  EXPECT_EQ(chars[2].code_point, U'\u4E2D');
  EXPECT_EQ(chars[3].code_point, U'\U0001F600');
  EXPECT_EQ(chars[0].start, 10u);
  EXPECT_EQ(chars[1].start, 11u);
  EXPECT_EQ(chars[2].start, 13u);
  EXPECT_EQ(chars[3].start, 16u);
  EXPECT_EQ(chars[3].end, 20u);
}

TEST(DecodeUtf8Test, RejectsMalformedSequencesNamingTheOffset) {
  struct Case {
    std::string text;
    std::string offset;
  };
  const std::vector<Case> cases = {
      {"ab\xFF", "byte offset 2"},            // never valid
      {"\x80", "byte offset 0"},              // lone continuation byte
      {"x\xC0\x80", "byte offset 1"},         // overlong NUL
      {"xy\xE0\x80\xAF", "byte offset 2"},    // overlong '/'
      {"\xED\xA0\x80", "byte offset 0"},      // surrogate U+D800
      {"\xF4\x90\x80\x80", "byte offset 0"},  // above U+10FFFF
      {"abc\xE4\xB8", "byte offset 3"},       // truncated at the end
      {"\xE4\xB8"
       "a",
       "byte offset 0"},  // truncated before ASCII
  };
  std::vector<Utf8Char> chars;
  for (const Case& c : cases) {
    const absl::Status s = DecodeUtf8(c.text, 0, &chars);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.offset;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.offset));
    EXPECT_THAT(std::string(s.message()), HasSubstr("UTF-8"));
  }
}

TEST(Utf8Test, EveryScalarValueRoundTrips) {
  std::vector<Utf8Char> chars;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string s;
    AppendUtf8(c, &s);
    ASSERT_TRUE(DecodeUtf8(s, 0, &chars).ok()) << static_cast<uint32_t>(c);
    ASSERT_EQ(chars.size(), 1u);
    ASSERT_EQ(chars[0].code_point, c);
    ASSERT_EQ(chars[0].end, s.size());
  }
}

}  // namespace
}  // namespace lion::tokenizer
