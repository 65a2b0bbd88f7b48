// BERT pre-tokenization, matching Hugging Face's BertPreTokenizer: split on
// whitespace (dropped), then split off every punctuation character as a word
// of its own.
#ifndef LION_SERVER_TOKENIZER_BERT_PRE_TOKENIZER_H_
#define LION_SERVER_TOKENIZER_BERT_PRE_TOKENIZER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "server/tokenizer/bert_normalizer.h"

namespace lion::tokenizer {

// A word: the normalized characters [begin, end).
struct WordRange {
  uint32_t begin;
  uint32_t end;
};

// Appends the words of `chars` to `words` (not cleared). Pure and thread-safe.
void BertPreTokenize(std::span<const NormalizedChar> chars, std::vector<WordRange>* words);

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_BERT_PRE_TOKENIZER_H_
