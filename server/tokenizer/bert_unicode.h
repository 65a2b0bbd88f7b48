// Character classes and mappings of the BERT normalizer and pre-tokenizer,
// with the exact semantics of Hugging Face `tokenizers` (BertNormalizer,
// BertPreTokenizer), backed by ICU.
//
// Hugging Face takes general categories from the `unicode_categories` crate,
// whose tables are Unicode 8.0: a character assigned later has no category
// there (so it is neither control, punctuation nor a mark), and the few whose
// category changed since 8.0 keep the old one. Its NFD tables (decompositions
// and combining classes) are Unicode 9.0. Whitespace and lower-case come from
// Rust's standard library, which tracks current Unicode (17.0 in tokenizers
// 0.23): ICU 72 gives Unicode 15.0, plus a small table of the lower-case pairs
// added since. Each of these facts is checked over every code point by
// tests/python/test_tokenizer_parity.py.
//
// All functions are pure and thread-safe.
#ifndef LION_SERVER_TOKENIZER_BERT_UNICODE_H_
#define LION_SERVER_TOKENIZER_BERT_UNICODE_H_

#include <cstdint>
#include <string>

namespace lion::tokenizer {

// False when ICU's normalization data cannot be loaded (a broken install);
// the tokenizer refuses to start then.
bool HaveUnicodeData();

// \t, \n, \r and every character with the Unicode White_Space property.
bool IsBertWhitespace(char32_t c);

// Removed by text cleaning: U+0000, U+FFFD, and categories Cc, Cf, Co (as of
// Unicode 8.0) except \t, \n, \r. Unassigned code points are kept.
bool IsBertRemovedControl(char32_t c);

// ASCII punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) or a category P*
// character as of Unicode 8.0.
bool IsBertPunctuation(char32_t c);

// A CJK ideograph from the blocks BERT surrounds with spaces.
bool IsCjkIdeograph(char32_t c);

// Category Mn as of Unicode 8.0 (what accent stripping removes after NFD).
bool IsNonspacingMark(char32_t c);

// Canonical combining class as of Unicode 9.0 (0 for starters).
uint8_t CombiningClass(char32_t c);

// Appends the full canonical decomposition (NFD, without reordering) of `c`
// as of Unicode 9.0.
void AppendCanonicalDecomposition(char32_t c, std::u32string* out);

// Appends the full lower-case mapping of `c` taken alone (no context, no
// locale), as Rust's char::to_lowercase: U+0130 gives "i\u0307", Σ gives σ.
void AppendLowercase(char32_t c, std::u32string* out);

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_BERT_UNICODE_H_
