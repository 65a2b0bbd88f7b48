// UTF-8 decoding with validation, and encoding, for the tokenizer.
#ifndef LION_SERVER_TOKENIZER_UTF8_H_
#define LION_SERVER_TOKENIZER_UTF8_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace lion::tokenizer {

// One decoded character and the bytes [start, end) it occupies in its text.
struct Utf8Char {
  char32_t code_point;
  uint32_t start;
  uint32_t end;
};

// Decodes `text` into `out` (cleared first); byte positions count from the
// start of `text` plus `base_offset`. Rejects overlong forms, surrogates,
// values above U+10FFFF and truncated sequences with InvalidArgumentError
// naming the byte offset of the first bad sequence.
absl::Status DecodeUtf8(std::string_view text, uint32_t base_offset, std::vector<Utf8Char>* out);

// Decodes the character starting at byte `pos` of `text` into `code_point`
// and returns its length in bytes; 0 when the bytes there are not a valid
// UTF-8 sequence (same rules as DecodeUtf8) or pos is past the end.
size_t DecodeUtf8Char(std::string_view text, size_t pos, char32_t* code_point);

// Appends the UTF-8 encoding of `code_point` (a valid scalar value) to `out`.
void AppendUtf8(char32_t code_point, std::string* out);

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_UTF8_H_
