#include "server/tokenizer/bert_normalizer.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "server/tokenizer/bert_pre_tokenizer.h"

namespace lion::tokenizer {
namespace {

struct Normalized {
  std::u32string text;
  std::vector<std::pair<uint32_t, uint32_t>> spans;
};

Normalized Normalize(std::string_view utf8, BertNormalizerOptions options = {}) {
  std::vector<Utf8Char> chars;
  EXPECT_TRUE(DecodeUtf8(utf8, 0, &chars).ok());
  std::vector<NormalizedChar> out;
  BertNormalize(chars, options, &out);
  Normalized n;
  for (const NormalizedChar& c : out) {
    n.text.push_back(c.code_point);
    n.spans.emplace_back(c.start, c.end);
  }
  return n;
}

using Spans = std::vector<std::pair<uint32_t, uint32_t>>;

TEST(BertNormalizerTest, StripsAccentsAndLowercasesKeepingOriginalSpans) {
  const Normalized n = Normalize("Caf\xC3\xA9");  // "Café"
  EXPECT_EQ(n.text, U"cafe");
  EXPECT_EQ(n.spans, (Spans{{0, 1}, {1, 2}, {2, 3}, {3, 5}}));
}

TEST(BertNormalizerTest, KeepsAccentsWhenNotStripping) {
  const Normalized n = Normalize("Caf\xC3\xA9", {.strip_accents = false, .lowercase = false});
  EXPECT_EQ(n.text, U"Caf\u00E9");
}

TEST(BertNormalizerTest, LowercaseWithoutStrippingExpandsDottedCapitalI) {
  const Normalized n = Normalize("\xC4\xB0x", {.strip_accents = false});  // "İx"
  EXPECT_EQ(n.text, U"i\u0307x");
  EXPECT_EQ(n.spans, (Spans{{0, 2}, {0, 2}, {2, 3}}));
}

TEST(BertNormalizerTest, RemovesControlsAndMapsWhitespaceToSpace) {
  const Normalized n =
      Normalize(std::string_view("a\0b\tc\xE2\x80\x8B"
                                 "d\xC2\xA0"
                                 "e",
                                 12));
  EXPECT_EQ(n.text, U"ab cd e");
  EXPECT_EQ(n.spans, (Spans{{0, 1}, {2, 3}, {3, 4}, {4, 5}, {8, 9}, {9, 11}, {11, 12}}));
}

TEST(BertNormalizerTest, SurroundsCjkIdeographsWithSpaces) {
  const Normalized n = Normalize(
      "a\xE4\xB8\xAD"
      "b");  // "a中b"
  EXPECT_EQ(n.text, U"a \u4E2D b");
  EXPECT_EQ(n.spans, (Spans{{0, 1}, {1, 4}, {1, 4}, {1, 4}, {4, 5}}));
}

TEST(BertNormalizerTest, ReordersCombiningMarksAndSpansStayWithPositions) {
  // x + U+1D16D (class 226) + U+1D165 (class 216), both spacing marks that
  // accent stripping keeps: NFD swaps them; each position keeps its span.
  const Normalized n = Normalize("x\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5", {.lowercase = false});
  EXPECT_EQ(n.text, U"x\U0001D165\U0001D16D");
  EXPECT_EQ(n.spans, (Spans{{0, 1}, {1, 5}, {5, 9}}));
  const Normalized stripped = Normalize("\xC3\xA1\xCC\x96");  // á + U+0316
  EXPECT_EQ(stripped.text, U"a");
  EXPECT_EQ(stripped.spans, (Spans{{0, 2}}));
}

TEST(BertNormalizerTest, SortsALongRunOfMarksStablyByClass) {
  // x, then 20000 marks in descending class order: U+1D16D (class 226) and
  // U+1D165 (class 216), spacing marks that accent stripping keeps; then y.
  // Canonical ordering moves every 216 before every 226 (a stable sort, in
  // O(K log K): an insertion sort took seconds on such runs), and each
  // position keeps the span of the input character at that position.
  std::string text = "x";
  constexpr int kEach = 10000;
  for (int i = 0; i < kEach; ++i) text += "\xF0\x9D\x85\xAD";
  for (int i = 0; i < kEach; ++i) text += "\xF0\x9D\x85\xA5";
  text += "y";
  const Normalized n = Normalize(text, {.lowercase = false});
  ASSERT_EQ(n.text.size(), 2u + 2 * kEach);
  EXPECT_EQ(n.text.front(), U'x');
  for (int i = 0; i < kEach; ++i) ASSERT_EQ(n.text[1 + i], U'\U0001D165') << i;
  for (int i = 0; i < kEach; ++i) ASSERT_EQ(n.text[1 + kEach + i], U'\U0001D16D') << i;
  EXPECT_EQ(n.text.back(), U'y');
  for (size_t i = 1; i + 1 < n.spans.size(); ++i) {
    const auto start = static_cast<uint32_t>(1 + 4 * (i - 1));
    ASSERT_EQ(n.spans[i], (std::pair<uint32_t, uint32_t>{start, start + 4})) << i;
  }
}

TEST(BertPreTokenizerTest, SplitsOnWhitespaceAndIsolatesPunctuation) {
  std::vector<Utf8Char> chars;
  ASSERT_TRUE(DecodeUtf8("  don't  stop!!x ", 0, &chars).ok());
  std::vector<NormalizedChar> normalized;
  BertNormalize(chars, {}, &normalized);
  std::vector<WordRange> words;
  BertPreTokenize(normalized, &words);
  std::vector<std::u32string> got;
  for (const WordRange& w : words) {
    std::u32string s;
    for (uint32_t i = w.begin; i < w.end; ++i) s.push_back(normalized[i].code_point);
    got.push_back(s);
  }
  EXPECT_EQ(got, (std::vector<std::u32string>{U"don", U"'", U"t", U"stop", U"!", U"!", U"x"}));
}

}  // namespace
}  // namespace lion::tokenizer
