// BERT text normalization with alignment to the original text, matching
// Hugging Face's BertNormalizer: clean text (drop control characters, map
// whitespace to a space), surround CJK ideographs with spaces, strip accents
// (NFD, then drop non-spacing marks), lower-case.
#ifndef LION_SERVER_TOKENIZER_BERT_NORMALIZER_H_
#define LION_SERVER_TOKENIZER_BERT_NORMALIZER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "server/tokenizer/utf8.h"

namespace lion::tokenizer {

// One character of normalized text and the bytes [start, end) of the original
// character it came from (every character a normalization step produces from
// one original character points at that character).
struct NormalizedChar {
  char32_t code_point;
  uint32_t start;
  uint32_t end;
};

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

// Normalizes `input` into `out` (cleared first). Pure and thread-safe.
void BertNormalize(std::span<const Utf8Char> input, const BertNormalizerOptions& options,
                   std::vector<NormalizedChar>* out);

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_BERT_NORMALIZER_H_
