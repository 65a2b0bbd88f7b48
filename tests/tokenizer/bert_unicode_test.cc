// Hand-checked points of Hugging Face's character semantics; the parity test
// (tests/python/test_tokenizer_parity.py) covers every code point.
#include "server/tokenizer/bert_unicode.h"

#include <string>

#include "gtest/gtest.h"

namespace lion::tokenizer {
namespace {

std::u32string Lower(char32_t c) {
  std::u32string out;
  AppendLowercase(c, &out);
  return out;
}

std::u32string Decompose(char32_t c) {
  std::u32string out;
  AppendCanonicalDecomposition(c, &out);
  return out;
}

TEST(BertUnicodeTest, PunctuationIsAsciiSymbolsAndUnicode8Punctuation) {
  for (char32_t c : {U'!', U'$', U'+', U'^', U'`', U'~', U'\u00BF', U'\u2014', U'\u3002',
                     U'\u166D' /* Po in 8.0, So today */}) {
    EXPECT_TRUE(IsBertPunctuation(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c :
       {U'a', U'0', U' ', U'\u00A7' /* Po */, U'\u2E43' /* added in 9.0 */, U'\u20AC' /* Sc */}) {
    EXPECT_EQ(IsBertPunctuation(c), c == U'\u00A7') << static_cast<uint32_t>(c);
  }
}

TEST(BertUnicodeTest, CleaningRemovesControlFormatAndPrivateUseButNotUnassigned) {
  for (char32_t c : {U'\0', U'\x07', U'\x0B', U'\x7F', U'\u0085', U'\u200B', U'\uFEFF', U'\uE000',
                     U'\uFFFD', U'\U000E0001'}) {
    EXPECT_TRUE(IsBertRemovedControl(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c :
       {U'\t', U'\n', U'\r', U'a', U'\u0378' /* unassigned */, U'\u08E2' /* Cf since 9.0 */}) {
    EXPECT_FALSE(IsBertRemovedControl(c)) << static_cast<uint32_t>(c);
  }
}

TEST(BertUnicodeTest, WhitespaceAndCjk) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\r', U'\u00A0', U'\u2028', U'\u3000'}) {
    EXPECT_TRUE(IsBertWhitespace(c));
  }
  EXPECT_FALSE(IsBertWhitespace(U'\u200B'));
  EXPECT_TRUE(IsCjkIdeograph(U'\u4E2D'));
  EXPECT_TRUE(IsCjkIdeograph(U'\U00020000'));
  EXPECT_TRUE(IsCjkIdeograph(U'\uF900'));
  EXPECT_FALSE(IsCjkIdeograph(U'\u3042'));  // hiragana
  EXPECT_FALSE(IsCjkIdeograph(U'\uAC00'));  // hangul
}

TEST(BertUnicodeTest, LowercaseIsPerCharacterAndFull) {
  EXPECT_EQ(Lower(U'A'), U"a");
  EXPECT_EQ(Lower(U'\u00C9'), U"\u00E9");
  EXPECT_EQ(Lower(U'\u0130'), U"i\u0307");  // İ: the one multi-character mapping
  EXPECT_EQ(Lower(U'\u03A3'), U"\u03C3");   // Σ: no final-sigma context
  EXPECT_EQ(Lower(U'\u1E9E'), U"\u00DF");   // ẞ
  EXPECT_EQ(Lower(U'\u1C89'), U"\u1C8A");   // added in Unicode 16, past ICU 72
  EXPECT_EQ(Lower(U'\u00DF'), U"\u00DF");
}

TEST(BertUnicodeTest, DecompositionAndCombiningClassAreUnicode9) {
  EXPECT_EQ(Decompose(U'\u00E9'), U"e\u0301");
  EXPECT_EQ(Decompose(U'\u1E69'), U"s\u0323\u0307");
  EXPECT_EQ(Decompose(U'\uAC01'), U"\u1100\u1161\u11A8");  // Hangul, algorithmic
  EXPECT_EQ(Decompose(U'\uF900'), U"\u8C48");
  EXPECT_EQ(Decompose(U'\U00011938'), U"\U00011938");  // decomposes since 13.0
  EXPECT_EQ(CombiningClass(U'\u0301'), 230);
  EXPECT_EQ(CombiningClass(U'\u0898'), 0);  // 230 since 14.0
  EXPECT_TRUE(IsNonspacingMark(U'\u0301'));
  EXPECT_TRUE(IsNonspacingMark(U'\u1734'));   // Mn in 8.0, Mc today
  EXPECT_FALSE(IsNonspacingMark(U'\u1885'));  // Lo in 8.0, Mn today
}

}  // namespace
}  // namespace lion::tokenizer
