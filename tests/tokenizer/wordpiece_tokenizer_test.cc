// Hand-checked encodings on a small vocabulary; the parity test
// (tests/python/test_tokenizer_parity.py) compares with Hugging Face at scale.
#include "server/tokenizer/wordpiece_tokenizer.h"


#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/temp_path.h"

namespace lion::tokenizer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;

constexpr char kVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"       // 0-4
    "hello\nworld\n,\n!\nun\n##aff\n##able\n"    // 5-11
    "cafe\nnaive\n\xE4\xB8\xAD\n\xE6\x96\x87\n"  // 12-15: cafe naive 中 文
    "##s\ni\n##\xCC\x87\ncaf\xC3\xA9\nHello\n"   // 16-20: ##s i ##(U+0307) café Hello
    ".\na\n##a\n";                               // 21-23

std::string WriteVocab(const std::string& name, const std::string& contents) {
  const std::string path = testing_util::UniqueTempPath(name);
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

std::unique_ptr<WordPieceTokenizer> MakeTokenizer(bool lowercase = true,
                                                  std::optional<bool> strip_accents = {}) {
  TokenizerOptions options;
  options.lowercase = lowercase;
  options.strip_accents = strip_accents;
  options.vocab_path = WriteVocab("wordpiece_test_vocab.txt", kVocab);
  auto tokenizer = WordPieceTokenizer::Create(options);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return std::move(tokenizer).value();
}

Encoding MustEncode(const WordPieceTokenizer& t, std::string_view text, EncodeOptions o = {}) {
  auto e = t.Encode(text, o);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *std::move(e) : Encoding{};
}

TEST(WordPieceTokenizerTest, EncodesWordsAndPunctuationWithOffsets) {
  auto t = MakeTokenizer();
  const Encoding e = MustEncode(*t, "Hello, World!");
  EXPECT_THAT(e.ids, ElementsAre(2, 5, 7, 6, 8, 3));
  EXPECT_THAT(e.tokens, ElementsAre("[CLS]", "hello", ",", "world", "!", "[SEP]"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 5}, {5, 6}, {7, 12}, {12, 13}, {0, 0}}));
  EXPECT_THAT(e.type_ids, ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_FALSE(e.truncated);
}

TEST(WordPieceTokenizerTest, SplitsIntoLongestPiecesFirst) {
  auto t = MakeTokenizer();
  const Encoding e = MustEncode(*t, "unaffable", {.add_special_tokens = false});
  EXPECT_THAT(e.tokens, ElementsAre("un", "##aff", "##able"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 2}, {2, 5}, {5, 9}}));
}

TEST(WordPieceTokenizerTest, StripsAccentsWhenLowercasing) {
  auto t = MakeTokenizer();
  const Encoding e = MustEncode(*t, "Caf\xC3\xA9 NA\xC3\x8FVE", {.add_special_tokens = false});
  EXPECT_THAT(e.ids, ElementsAre(12, 13));
  EXPECT_EQ(e.offsets, (Offsets{{0, 5}, {6, 12}}));
}

TEST(WordPieceTokenizerTest, CasedKeepsCaseAndAccents) {
  auto t = MakeTokenizer(/*lowercase=*/false);
  const Encoding e = MustEncode(*t, "Hello caf\xC3\xA9 Caf\xC3\xA9", {.add_special_tokens = false});
  EXPECT_THAT(e.tokens, ElementsAre("Hello", "caf\xC3\xA9", "[UNK]"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 5}, {6, 11}, {12, 17}}));
}

TEST(WordPieceTokenizerTest, LowercaseWithoutStrippingSplitsDottedCapitalI) {
  auto t = MakeTokenizer(/*lowercase=*/true, /*strip_accents=*/false);
  const Encoding e = MustEncode(*t, "\xC4\xB0", {.add_special_tokens = false});  // İ
  EXPECT_THAT(e.tokens, ElementsAre("i", "##\xCC\x87"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 2}, {0, 2}}));
}

TEST(WordPieceTokenizerTest, CjkIdeographsAreWordsOfTheirOwn) {
  auto t = MakeTokenizer();
  const Encoding e = MustEncode(*t, "\xE4\xB8\xAD\xE6\x96\x87", {.add_special_tokens = false});
  EXPECT_THAT(e.ids, ElementsAre(14, 15));
  EXPECT_EQ(e.offsets, (Offsets{{0, 3}, {3, 6}}));
}

TEST(WordPieceTokenizerTest, UnknownWordsBecomeOneUnkOverTheWholeWord) {
  auto t = MakeTokenizer();
  // An emoji; "helloworld" (zero-width space removed) has no "##world".
  const Encoding e = MustEncode(*t, "hello \xF0\x9F\x98\x80 hello\xE2\x80\x8Bworld",
                                {.add_special_tokens = false});
  EXPECT_THAT(e.tokens, ElementsAre("hello", "[UNK]", "[UNK]"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 5}, {6, 10}, {11, 24}}));
}

TEST(WordPieceTokenizerTest, WordsOverTheCharacterLimitAreUnknown) {
  auto t = MakeTokenizer();
  const Encoding at_limit = MustEncode(*t, std::string(100, 'a'), {.add_special_tokens = false});
  ASSERT_EQ(at_limit.size(), 100u);
  EXPECT_EQ(at_limit.tokens[0], "a");
  EXPECT_EQ(at_limit.tokens[99], "##a");
  const Encoding over = MustEncode(*t, std::string(101, 'a'), {.add_special_tokens = false});
  EXPECT_THAT(over.tokens, ElementsAre("[UNK]"));
  EXPECT_EQ(over.offsets, (Offsets{{0, 101}}));
}

TEST(WordPieceTokenizerTest, ControlCharactersAreDropped) {
  auto t = MakeTokenizer();
  const Encoding e =
      MustEncode(*t, std::string_view("hel\0lo\x07 \x7Fworld", 14), {.add_special_tokens = false});
  EXPECT_THAT(e.tokens, ElementsAre("hello", "world"));
  EXPECT_EQ(e.offsets, (Offsets{{0, 6}, {9, 14}}));
}

TEST(WordPieceTokenizerTest, EmptyAndWhitespaceOnlyGiveOnlySpecialTokens) {
  auto t = MakeTokenizer();
  for (std::string_view text : {"", "  \t\r\n ", "\xE3\x80\x80\xC2\xA0"}) {
    const Encoding e = MustEncode(*t, text);
    EXPECT_THAT(e.ids, ElementsAre(2, 3));
    EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 0}}));
  }
}

TEST(WordPieceTokenizerTest, SpecialTokensInTheTextAreKeptWhole) {
  auto t = MakeTokenizer();
  const Encoding e = MustEncode(*t, "hello [MASK]![MASK] [mask]", {.add_special_tokens = false});
  EXPECT_THAT(e.tokens, ElementsAre("hello", "[MASK]", "!", "[MASK]", "[UNK]", "[UNK]", "[UNK]"));
  EXPECT_EQ(e.offsets,
            (Offsets{{0, 5}, {6, 12}, {12, 13}, {13, 19}, {20, 21}, {21, 25}, {25, 26}}));
}

TEST(WordPieceTokenizerTest, InvalidUtf8IsAnErrorNamingTheOffset) {
  auto t = MakeTokenizer();
  const auto e = t->Encode("hello \xC3(", {});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("byte offset 6"));
}

TEST(WordPieceTokenizerTest, TruncatesRightOrLeftCountingSpecialTokens) {
  auto t = MakeTokenizer();
  const std::string text = "hello world hello world";
  const Encoding right = MustEncode(*t, text, {.max_length = 4, .truncation = Truncation::kRight});
  EXPECT_THAT(right.tokens, ElementsAre("[CLS]", "hello", "world", "[SEP]"));
  EXPECT_EQ(right.offsets, (Offsets{{0, 0}, {0, 5}, {6, 11}, {0, 0}}));
  EXPECT_TRUE(right.truncated);
  const Encoding left = MustEncode(*t, text, {.max_length = 4, .truncation = Truncation::kLeft});
  EXPECT_THAT(left.tokens, ElementsAre("[CLS]", "hello", "world", "[SEP]"));
  EXPECT_EQ(left.offsets, (Offsets{{0, 0}, {12, 17}, {18, 23}, {0, 0}}));
  const Encoding bare = MustEncode(
      *t, text, {.add_special_tokens = false, .max_length = 3, .truncation = Truncation::kLeft});
  EXPECT_THAT(bare.tokens, ElementsAre("world", "hello", "world"));
  const Encoding fits = MustEncode(*t, text, {.max_length = 6});
  EXPECT_EQ(fits.size(), 6u);
  EXPECT_FALSE(fits.truncated);
}

TEST(WordPieceTokenizerTest, OverLongWithoutTruncationNamesTheLimit) {
  auto t = MakeTokenizer();
  const auto e = t->Encode("hello world hello world", {.max_length = 5});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("6 tokens"));
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("limit of 5"));
  const auto tiny = t->Encode("hello", {.max_length = 1, .truncation = Truncation::kRight});
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WordPieceTokenizerTest, OneMegabyteTextTokenizesConsistently) {
  auto t = MakeTokenizer();
  const std::string unit = "Hello, world! unaffable caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87\n";
  const Encoding one = MustEncode(*t, unit, {.add_special_tokens = false});
  ASSERT_EQ(one.size(), 10u);
  std::string text;
  size_t repeats = 0;
  for (; text.size() < (1u << 20); ++repeats) text += unit;
  const Encoding e = MustEncode(*t, text);
  ASSERT_EQ(e.size(), repeats * one.size() + 2);
  for (size_t r = 0; r < repeats; r += repeats / 7) {
    for (size_t k = 0; k < one.size(); ++k) {
      const size_t i = 1 + r * one.size() + k;
      ASSERT_EQ(e.ids[i], one.ids[k]);
      ASSERT_EQ(e.offsets[i].first, one.offsets[k].first + r * unit.size());
      ASSERT_EQ(e.offsets[i].second, one.offsets[k].second + r * unit.size());
    }
  }
}

TEST(WordPieceTokenizerTest, ConcurrentEncodesMatchSerialOnes) {
  auto t = MakeTokenizer();
  const std::vector<std::string> texts = {"Hello, World!", "unaffable caf\xC3\xA9",
                                          "[MASK] \xE4\xB8\xAD", std::string(300, 'a')};
  std::vector<Encoding> serial;
  for (const auto& text : texts) serial.push_back(MustEncode(*t, text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < 200; ++round) {
        const size_t k = (w + round) % texts.size();
        auto e = t->Encode(texts[k], {});
        if (!e.ok() || e->ids != serial[k].ids || e->offsets != serial[k].offsets) ++mismatches[w];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

TEST(WordPieceTokenizerTest, SpecialTokenIdsAndLookups) {
  auto t = MakeTokenizer();
  EXPECT_EQ(t->pad_id(), 0);
  EXPECT_EQ(t->unk_id(), 1);
  EXPECT_EQ(t->cls_id(), 2);
  EXPECT_EQ(t->sep_id(), 3);
  EXPECT_EQ(t->mask_id(), 4);
  EXPECT_EQ(t->vocab_size(), 24);
  EXPECT_EQ(t->TokenToId("hello"), 5);
  EXPECT_EQ(t->TokenToId("nope"), -1);
  EXPECT_EQ(t->IdToToken(11), "##able");
  EXPECT_EQ(t->IdToToken(24), "");
}

TEST(WordPieceTokenizerTest, CreateRejectsBadOptionsAndVocabularies) {
  TokenizerOptions options;
  EXPECT_EQ(WordPieceTokenizer::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.vocab_path = "/nonexistent/vocab.txt";
  EXPECT_EQ(WordPieceTokenizer::Create(options).status().code(), absl::StatusCode::kNotFound);
  options.vocab_path = WriteVocab("no_unk.txt", "[CLS]\n[SEP]\nhello\n");
  const absl::Status no_unk = WordPieceTokenizer::Create(options).status();
  EXPECT_EQ(no_unk.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_unk.message()), HasSubstr("[UNK]"));
  options.vocab_path = WriteVocab("minimal.txt", "[UNK]\n[CLS]\n[SEP]\n");
  auto minimal = WordPieceTokenizer::Create(options);
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ((*minimal)->mask_id(), -1);
  EXPECT_EQ((*minimal)->pad_id(), -1);
  options.max_input_chars_per_word = 0;
  EXPECT_EQ(WordPieceTokenizer::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Pieces (text_segments.h): special tokens, words and [UNK]s that straddle a
// 64 KiB piece boundary come out as from an uncut text.
TEST(WordPieceTokenizerTest, LongTextsCutIntoPiecesGiveTheUncutTokens) {
  auto t = MakeTokenizer();
  const std::string unit = "hello [MASK] world, unaffable ";  // 30 bytes
  const Encoding one = MustEncode(*t, unit, {.add_special_tokens = false});
  std::string text;
  while (text.size() < 300000) text += unit;
  // Every alignment of the unit against the boundaries comes up somewhere.
  const Encoding e = MustEncode(*t, text, {.add_special_tokens = false});
  const size_t repeats = text.size() / unit.size();
  ASSERT_EQ(e.size(), repeats * one.size());
  for (size_t i = 0; i < e.size(); ++i) {
    ASSERT_EQ(e.ids[i], one.ids[i % one.size()]) << i;
    ASSERT_EQ(e.offsets[i].first, one.offsets[i % one.size()].first + (i / one.size()) * unit.size());
  }
}

TEST(WordPieceTokenizerTest, AWordLongerThanAPieceIsOneUnknown) {
  auto t = MakeTokenizer();
  // 200 KiB without a word boundary: the pieces cut it (a forced cut), and
  // the halves' [UNK]s are joined into the one [UNK] of the whole word.
  const std::string text = "hello " + std::string(200 << 10, 'a') + " world";
  const Encoding e = MustEncode(*t, text, {.add_special_tokens = false});
  EXPECT_THAT(e.ids, ElementsAre(5, 1, 6));
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{6, 6 + (200 << 10)}));
}

TEST(WordPieceTokenizerTest, StopsSoonAfterTheLimitUnlessTheEndIsKept) {
  auto t = MakeTokenizer();
  std::string text;
  while (text.size() < (4u << 20)) text += "hello world ";  // 4 MiB, 64 pieces
  int pieces = 0;
  auto counting = [&pieces] {
    ++pieces;
    return false;
  };
  auto right = t->Encode(text, {.max_length = 10, .truncation = Truncation::kRight,
                                .should_stop = counting});
  ASSERT_TRUE(right.ok());
  EXPECT_EQ(right->size(), 10u);
  EXPECT_TRUE(right->truncated);
  EXPECT_EQ(pieces, 1);
  pieces = 0;
  auto none = t->Encode(text, {.max_length = 10, .should_stop = counting});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("at least"));
  EXPECT_EQ(pieces, 1);
  pieces = 0;
  auto left = t->Encode(text, {.max_length = 10, .truncation = Truncation::kLeft,
                               .should_stop = counting});
  ASSERT_TRUE(left.ok());
  EXPECT_GE(pieces, 64);  // the kept tokens are at the end
  EXPECT_THAT(left->ids, ElementsAre(2, 5, 6, 5, 6, 5, 6, 5, 6, 3));
  EXPECT_EQ(left->offsets[8].second, text.size() - 1);
}

TEST(WordPieceTokenizerTest, ShouldStopCancelsBetweenPieces) {
  auto t = MakeTokenizer();
  std::string text;
  while (text.size() < (1u << 20)) text += "hello world ";
  int pieces = 0;
  auto e = t->Encode(text, {.should_stop = [&pieces] { return ++pieces > 3; }});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pieces, 4);
}

}  // namespace
}  // namespace lion::tokenizer
