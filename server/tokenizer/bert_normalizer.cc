#include "server/tokenizer/bert_normalizer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "server/tokenizer/bert_unicode.h"

namespace lion::tokenizer {
namespace {

// NFD: each character's canonical decomposition, then canonical ordering
// (within each run of non-starters, a stable sort by combining class).
void Decompose(std::vector<NormalizedChar>* chars) {
  std::vector<NormalizedChar> out;
  std::vector<bool> inserted;
  out.reserve(chars->size());
  inserted.reserve(chars->size());
  std::u32string scratch;
  for (const NormalizedChar& c : *chars) {
    scratch.clear();
    AppendCanonicalDecomposition(c.code_point, &scratch);
    for (size_t k = 0; k < scratch.size(); ++k) {
      out.push_back({scratch[k], c.start, c.end});
      inserted.push_back(k > 0);
    }
  }
  // Canonical ordering: a stable sort by combining class of every maximal run
  // of non-starters, O(K log K) for a run of K marks (an insertion sort was
  // quadratic: 32 KB of marks in descending class took 1.5 s).
  bool reordered = false;
  std::vector<std::pair<uint8_t, size_t>> run;  // (class, index into out)
  for (size_t i = 0; i < out.size();) {
    if (CombiningClass(out[i].code_point) == 0) {
      ++i;
      continue;
    }
    size_t end = i;
    run.clear();
    for (; end < out.size(); ++end) {
      const uint8_t cc = CombiningClass(out[end].code_point);
      if (cc == 0) break;
      run.emplace_back(cc, end);
    }
    if (!std::is_sorted(run.begin(), run.end(),
                        [](const auto& a, const auto& b) { return a.first < b.first; })) {
      std::stable_sort(run.begin(), run.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<char32_t> code_points;
      std::vector<bool> flags;
      for (const auto& [cc, k] : run) {
        code_points.push_back(out[k].code_point);
        flags.push_back(inserted[k]);
      }
      for (size_t k = 0; k < run.size(); ++k) {
        out[i + k].code_point = code_points[k];
        inserted[i + k] = flags[k];
      }
      reordered = true;
    }
    i = end;
  }
  // Alignment follows Hugging Face: the first character of a decomposition
  // "consumes" the next input character and takes its span, the others are
  // "inserted" and take the span of the last consumed one; reordering moves a
  // character together with that consumed/inserted flag, so a mark moved
  // across decompositions may point at a neighbouring character.
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
