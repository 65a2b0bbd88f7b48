#include "server/tokenizer/utf8.h"

#include "absl/strings/str_format.h"

namespace lion::tokenizer {
namespace {

absl::Status BadUtf8(std::string_view text, size_t pos, uint32_t base_offset) {
  return absl::InvalidArgumentError(
      absl::StrFormat("text is not valid UTF-8: bad byte 0x%02x at byte offset %d",
                      static_cast<unsigned char>(text[pos]), pos + base_offset));
}

}  // namespace

size_t DecodeUtf8Char(std::string_view text, size_t pos, char32_t* code_point) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  if (pos >= n) return 0;
  const unsigned char b0 = s[pos];
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t len;
  char32_t cp;
  char32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if (pos + k >= n || (s[pos + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[pos + k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return len;
}

absl::Status DecodeUtf8(std::string_view text, uint32_t base_offset, std::vector<Utf8Char>* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    const size_t len = DecodeUtf8Char(text, i, &cp);
    if (len == 0) return BadUtf8(text, i, base_offset);
    out->push_back(
        {cp, static_cast<uint32_t>(i + base_offset), static_cast<uint32_t>(i + len + base_offset)});
    i += len;
  }
  return absl::OkStatus();
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace lion::tokenizer
