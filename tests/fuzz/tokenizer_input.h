// How the tokenizer fuzz target reads its input bytes, shared with the
// regression tests of tests/tokenizer that replay what it found:
//   byte 0     options: bit 0 cased tokenizer (else the default model's
//              uncased one), bit 1 no special tokens, bits 2-3 truncation
//              (1 right, 2 left, else none)
//   byte 1     max_length / 64 (0 = no limit)
//   bytes 2-3  little-endian repeat count r: the text is the rest of the
//              input written 1 + r times, at most kMaxTextBytes in all
//   the rest   the text
// Repetition lets short inputs become long ones, which is where superlinear
// costs show (a run of combining marks in descending class order, say).
#ifndef LION_TESTS_FUZZ_TOKENIZER_INPUT_H_
#define LION_TESTS_FUZZ_TOKENIZER_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/tokenizer/encoding.h"

namespace lion::fuzz {

inline constexpr size_t kMaxTextBytes = size_t{256} << 10;

struct TokenizerInput {
  bool cased = false;
  tokenizer::EncodeOptions options;
  std::string text;
};

// False when `size` < 4.
inline bool ParseTokenizerInput(const uint8_t* data, size_t size, TokenizerInput* out) {
  if (size < 4) return false;
  out->cased = (data[0] & 1) != 0;
  out->options.add_special_tokens = (data[0] & 2) == 0;
  const int truncation = (data[0] >> 2) & 3;
  out->options.truncation = truncation == 1   ? tokenizer::Truncation::kRight
                            : truncation == 2 ? tokenizer::Truncation::kLeft
                                              : tokenizer::Truncation::kNone;
  out->options.max_length = uint32_t{data[1]} * 64;
  const size_t repeats = 1 + (size_t{data[2]} | size_t{data[3]} << 8);
  const std::string unit(reinterpret_cast<const char*>(data + 4), size - 4);
  out->text.clear();
  for (size_t i = 0; i < repeats && out->text.size() + unit.size() <= kMaxTextBytes; ++i) {
    out->text += unit;
  }
  if (out->text.empty()) out->text = unit.substr(0, kMaxTextBytes);
  return true;
}

}  // namespace lion::fuzz

#endif  // LION_TESTS_FUZZ_TOKENIZER_INPUT_H_
