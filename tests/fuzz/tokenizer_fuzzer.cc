// Fuzz target: WordPieceTokenizer::Encode with the default model's vocabulary
// (models/lion-mlm-mini/vocab.txt), uncased as that model is, and cased.
// Input layout: tests/fuzz/tokenizer_input.h. Invariants checked on every
// input: the only error is INVALID_ARGUMENT, and only for invalid UTF-8 or a
// text over max_length with truncation off; every result is consistent (ids
// in the vocabulary, tokens matching ids, offsets inside the text, [CLS] ...
// [SEP], the length limit kept), and a truncated result is exactly the
// matching end of the untruncated one. Run it with -timeout (scripts/fuzz):
// a superlinear cost shows as a timeout on a long repeated input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/tokenizer/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tokenizer_input.h"

namespace lion::fuzz {
namespace {

using tokenizer::Encoding;
using tokenizer::Truncation;
using tokenizer::WordPieceTokenizer;

std::unique_ptr<WordPieceTokenizer> MakeTokenizer(bool lowercase) {
  tokenizer::TokenizerOptions options;
  options.vocab_path = SourceDir() + "/models/lion-mlm-mini/vocab.txt";
  options.lowercase = lowercase;
  auto created = WordPieceTokenizer::Create(options);
  CheckSetup(created.status(), "tokenizer");
  return *std::move(created);
}

const WordPieceTokenizer& Tokenizer(bool cased) {
  static const WordPieceTokenizer* uncased = MakeTokenizer(true).release();
  static const WordPieceTokenizer* with_case = MakeTokenizer(false).release();
  return cased ? *with_case : *uncased;
}

// Well-formed UTF-8 (Unicode table 3-7), written independently of the
// tokenizer's decoder.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      n = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const uint8_t c = static_cast<uint8_t>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

void CheckConsistent(const WordPieceTokenizer& t, const TokenizerInput& in, const Encoding& e) {
  const size_t n = e.ids.size();
  FUZZ_CHECK(e.tokens.size() == n && e.offsets.size() == n && e.type_ids.size() == n,
             absl::StrCat("sizes ", n, " ", e.tokens.size(), " ", e.offsets.size(), " ",
                          e.type_ids.size()));
  for (size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(e.ids[i] >= 0 && e.ids[i] < t.vocab_size(), absl::StrCat("id ", e.ids[i]));
    FUZZ_CHECK(e.tokens[i] == t.IdToToken(e.ids[i]), absl::StrCat("token ", i));
    FUZZ_CHECK(e.type_ids[i] == 0, absl::StrCat("type id ", i));
    FUZZ_CHECK(e.offsets[i].first <= e.offsets[i].second && e.offsets[i].second <= in.text.size(),
               absl::StrCat("offset ", i, ": [", e.offsets[i].first, ", ", e.offsets[i].second,
                            ") in ", in.text.size(), " bytes"));
  }
  if (in.options.max_length > 0) {
    FUZZ_CHECK(n <= in.options.max_length, absl::StrCat(n, " tokens > ", in.options.max_length));
  }
  if (in.options.add_special_tokens) {
    FUZZ_CHECK(n >= 2 && e.ids.front() == t.cls_id() && e.ids.back() == t.sep_id(),
               "missing [CLS] ... [SEP]");
  }
  FUZZ_CHECK(
      !e.truncated || (in.options.max_length > 0 && in.options.truncation != Truncation::kNone),
      "truncated without a limit");
}

// The truncated result's inner tokens are the first (right truncation) or
// last (left) inner tokens of the untruncated result.
void CheckTruncation(const Encoding& truncated, const Encoding& full, bool specials, bool left) {
  const size_t added = specials ? 1 : 0;
  const size_t keep = truncated.ids.size() - 2 * added;
  const size_t full_inner = full.ids.size() - 2 * added;
  FUZZ_CHECK(keep <= full_inner, absl::StrCat(keep, " kept of ", full_inner));
  const size_t from = added + (left ? full_inner - keep : 0);
  for (size_t i = 0; i < keep; ++i) {
    FUZZ_CHECK(truncated.ids[added + i] == full.ids[from + i] &&
                   truncated.offsets[added + i] == full.offsets[from + i],
               absl::StrCat("truncated token ", i, " differs from the full encoding"));
  }
  FUZZ_CHECK(truncated.truncated == (keep < full_inner), "truncated flag");
}

int TestOneInput(const uint8_t* data, size_t size) {
  TokenizerInput in;
  if (!ParseTokenizerInput(data, size, &in)) return 0;
  const auto& t = Tokenizer(in.cased);
  const absl::StatusOr<Encoding> e = t.Encode(in.text, in.options);
  const bool valid = IsValidUtf8(in.text);
  if (!e.ok()) {
    FUZZ_CHECK(e.status().code() == absl::StatusCode::kInvalidArgument, e.status().ToString());
    const bool may_fail =
        !valid || (in.options.max_length > 0 && in.options.truncation == Truncation::kNone);
    FUZZ_CHECK(may_fail, e.status().ToString());
    return 0;
  }
  FUZZ_CHECK(valid, "invalid UTF-8 accepted");
  CheckConsistent(t, in, *e);
  if (in.options.max_length > 0 && in.options.truncation != Truncation::kNone) {
    tokenizer::EncodeOptions unlimited = in.options;
    unlimited.max_length = 0;
    const absl::StatusOr<Encoding> full = t.Encode(in.text, unlimited);
    FUZZ_CHECK(full.ok(), full.status().ToString());
    CheckTruncation(*e, *full, in.options.add_special_tokens,
                    in.options.truncation == Truncation::kLeft);
  }
  return 0;
}

}  // namespace
}  // namespace lion::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lion::fuzz::TestOneInput(data, size);
}
