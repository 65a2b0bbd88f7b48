#include "server/tokenizer/bert_normalizer.h"

#include <string>
#include <utility>

#include "server/tokenizer/bert_unicode.h"

namespace lion::tokenizer {
namespace {

// NFD: each character's canonical decomposition, then canonical ordering
// (within each run of non-starters, a stable sort by combining class).
// Alignment follows Hugging Face: the first character of a decomposition
// "consumes" the next input character and takes its span, the others are
// "inserted" and take the span of the last consumed one; reordering moves a
// character together with that consumed/inserted flag, so a mark moved
// across decompositions may point at a neighbouring character.
void Decompose(std::vector<NormalizedChar>* chars) {
  std::vector<NormalizedChar> out;
  std::vector<bool> inserted;
  out.reserve(chars->size());
  inserted.reserve(chars->size());
  std::u32string scratch;
  bool reordered = false;
  for (const NormalizedChar& c : *chars) {
    scratch.clear();
    AppendCanonicalDecomposition(c.code_point, &scratch);
    for (size_t k = 0; k < scratch.size(); ++k) {
      const uint8_t cc = CombiningClass(scratch[k]);
      size_t j = out.size();
      out.push_back({scratch[k], c.start, c.end});
      inserted.push_back(k > 0);
      // Insertion sort: runs of non-starters are a few characters long.
      for (; cc != 0 && j > 0; --j) {
        const uint8_t prev = CombiningClass(out[j - 1].code_point);
        if (prev == 0 || prev <= cc) break;
        std::swap(out[j - 1].code_point, out[j].code_point);
        std::vector<bool>::swap(inserted[j - 1], inserted[j]);
        reordered = true;
      }
    }
  }
  if (reordered) {
    size_t next = 0;  // next input character to consume
    for (size_t i = 0; i < out.size(); ++i) {
      const NormalizedChar& source = (*chars)[inserted[i] ? (next > 0 ? next - 1 : 0) : next++];
      out[i].start = source.start;
      out[i].end = inserted[i] && next == 0 ? source.start : source.end;
    }
  }
  chars->swap(out);
}

void RemoveNonspacingMarks(std::vector<NormalizedChar>* chars) {
  std::erase_if(*chars, [](const NormalizedChar& c) { return IsNonspacingMark(c.code_point); });
}

void Lowercase(std::vector<NormalizedChar>* chars) {
  std::vector<NormalizedChar> lowered;
  lowered.reserve(chars->size());
  std::u32string scratch;
  for (const NormalizedChar& c : *chars) {
    scratch.clear();
    AppendLowercase(c.code_point, &scratch);
    for (char32_t l : scratch) lowered.push_back({l, c.start, c.end});
  }
  chars->swap(lowered);
}

}  // namespace

void BertNormalize(std::span<const Utf8Char> input, const BertNormalizerOptions& options,
                   std::vector<NormalizedChar>* out) {
  out->clear();
  out->reserve(input.size());
  for (const Utf8Char& ch : input) {
    char32_t c = ch.code_point;
    if (options.clean_text) {
      if (IsBertRemovedControl(c)) continue;
      if (IsBertWhitespace(c)) c = ' ';
    }
    const bool cjk = options.handle_chinese_chars && IsCjkIdeograph(c);
    if (cjk) out->push_back({' ', ch.start, ch.end});
    out->push_back({c, ch.start, ch.end});
    if (cjk) out->push_back({' ', ch.start, ch.end});
  }
  if (options.strip_accents) {
    Decompose(out);
    RemoveNonspacingMarks(out);
  }
  if (options.lowercase) Lowercase(out);
}

}  // namespace lion::tokenizer
