#include "server/tokenizer/text_segments.h"

#include "server/tokenizer/bert_unicode.h"
#include "server/tokenizer/utf8.h"

namespace lion::tokenizer {
namespace {

bool AlwaysStartsWord(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  if (IsBertWhitespace(c)) return !IsBertRemovedControl(c);
  return IsBertPunctuation(c) || IsCjkIdeograph(c);
}

// Whether an occurrence of a special token covers both text[pos - 1] and text[pos].
bool InsideSpecial(std::string_view text, size_t pos, const std::vector<std::string>& specials) {
  for (const std::string& s : specials) {
    if (s.size() < 2) continue;
    const size_t first = pos >= s.size() - 1 ? pos - (s.size() - 1) : 0;
    for (size_t q = first; q < pos; ++q) {
      if (text.compare(q, s.size(), s) == 0) return true;
    }
  }
  return false;
}

}  // namespace

Cut NextCut(std::string_view text, size_t begin, size_t target_bytes, size_t window_bytes,
            const std::vector<std::string>& specials) {
  if (text.size() - begin <= target_bytes) return {text.size(), false};
  const size_t window_end = std::min(text.size(), begin + target_bytes + window_bytes);
  size_t forced = text.size();
  for (size_t p = begin + target_bytes; p < text.size(); ++p) {
    char32_t c;
    if (DecodeUtf8Char(text, p, &c) == 0) continue;  // not a character start
    if (InsideSpecial(text, p, specials)) continue;
    if (AlwaysStartsWord(c)) return {p, false};
    if (forced == text.size() && CombiningClass(c) == 0) forced = p;
    if (p >= window_end && forced < text.size()) return {forced, true};
  }
  return {text.size(), false};
}

}  // namespace lion::tokenizer
