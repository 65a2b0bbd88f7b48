// Inputs on which the tokenizer fuzz target (tests/fuzz/tokenizer_fuzzer.cc)
// found superlinear cost, replayed at a size where any superlinear behaviour
// runs for minutes. They are hang guards, not speed measurements: linear
// work on these inputs takes well under a second, and this binary's CTest
// timeout (60 s, tests/tokenizer/CMakeLists.txt) is what fails a regression.
// The results are also checked against Hugging Face `tokenizers`.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tokenizer/wordpiece_tokenizer.h"

namespace lion::tokenizer {
namespace {

using ::testing::ElementsAre;

std::unique_ptr<WordPieceTokenizer> DefaultModelTokenizer(bool lowercase) {
  const char* root = std::getenv("LION_SOURCE_DIR");
  TokenizerOptions options;
  options.vocab_path = std::string(root != nullptr ? root : LION_SOURCE_DIR_DEFAULT) +
                       "/models/lion-mlm-mini/vocab.txt";
  options.lowercase = lowercase;
  auto t = WordPieceTokenizer::Create(options);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

// 1 MiB: 524288 combining marks with no starter between them, U+0316 U+0334
// repeated (canonical combining classes 220, 1: falling), one run that NFD's
// canonical ordering must sort. The fuzz target found this pattern in 30 s
// (reproducer: tests/fuzz/regressions/tokenizer_fuzzer/
// nfd_falling_combining_run, 256 KiB once expanded: 52 s in a release build
// with the insertion sort of bert_normalizer.cc, quadratic in the run's
// length; this input would take about 14 minutes).
std::string FallingCombiningRun() {
  std::string text;
  for (int i = 0; i < 262144; ++i) text += "\u0316\u0334";
  return text;
}

TEST(TokenizerCostTest, LongRunOfCombiningMarksInFallingClassOrder) {
  const std::string text = FallingCombiningRun();
  ASSERT_EQ(text.size(), size_t{1} << 20);
  // Uncased strips the marks (Mn) after NFD: nothing is left. Cased keeps
  // them: one word over max_input_chars_per_word, so one [UNK].
  auto uncased = DefaultModelTokenizer(true);
  ASSERT_NE(uncased, nullptr);
  absl::StatusOr<Encoding> stripped = uncased->Encode(text, EncodeOptions());
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  EXPECT_THAT(stripped->ids, ElementsAre(uncased->cls_id(), uncased->sep_id()));
  auto cased = DefaultModelTokenizer(false);
  ASSERT_NE(cased, nullptr);
  absl::StatusOr<Encoding> kept = cased->Encode(text, EncodeOptions());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(kept->ids, ElementsAre(cased->cls_id(), cased->unk_id(), cased->sep_id()));
}

}  // namespace
}  // namespace lion::tokenizer
