// Where a long text may be cut so that tokenizing its pieces one after the
// other gives exactly the tokens of the whole text. The tokenizer works piece
// by piece so that its memory is bounded by the piece, it can stop at a token
// limit without reading the rest, and it can notice a deadline in between.
//
// A cut goes right before a character that always starts a new word and
// never joins the characters before it: whitespace that text cleaning keeps
// (\t, \n, \r, and White_Space characters that are not controls),
// punctuation, or a CJK ideograph. A cut never falls inside an occurrence of
// a special token. These characters are starters (combining class 0), so
// canonical reordering never crosses a cut. Pure and thread-safe.
#ifndef LION_SERVER_TOKENIZER_TEXT_SEGMENTS_H_
#define LION_SERVER_TOKENIZER_TEXT_SEGMENTS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lion::tokenizer {

struct Cut {
  size_t end;   // the piece is text[begin, end)
  // True when no word boundary was found within the search window, so the
  // cut splits one very long word (at a starter character): the caller must
  // join the two halves' [UNK] tokens (such a word is longer than any word
  // WordPiece can match).
  bool forced;
};

// The end of the piece of `text` that starts at `begin`: text.size() when
// fewer than `target_bytes` remain, else the first safe cut at or after
// begin + target_bytes, else (none within `window_bytes` more) a forced cut.
// `specials` are the special-token strings of the vocabulary.
Cut NextCut(std::string_view text, size_t begin, size_t target_bytes, size_t window_bytes,
            const std::vector<std::string>& specials);

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_TEXT_SEGMENTS_H_
