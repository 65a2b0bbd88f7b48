#include "server/tokenizer/bert_pre_tokenizer.h"

#include "server/tokenizer/bert_unicode.h"

namespace lion::tokenizer {

void BertPreTokenize(std::span<const NormalizedChar> chars, std::vector<WordRange>* words) {
  uint32_t word_begin = 0;
  const uint32_t n = static_cast<uint32_t>(chars.size());
  for (uint32_t i = 0; i < n; ++i) {
    const char32_t c = chars[i].code_point;
    const bool space = IsBertWhitespace(c);
    if (!space && !IsBertPunctuation(c)) continue;
    if (word_begin < i) words->push_back({word_begin, i});
    if (!space) words->push_back({i, i + 1});
    word_begin = i + 1;
  }
  if (word_begin < n) words->push_back({word_begin, n});
}

}  // namespace lion::tokenizer
