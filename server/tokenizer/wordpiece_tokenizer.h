// BERT WordPiece tokenizer, token-for-token and offset-for-offset the same as
// Hugging Face `tokenizers`' BertWordPieceTokenizer (BertNormalizer,
// BertPreTokenizer, WordPiece, BertProcessing) on the same vocab.txt:
//   1. the special tokens of the vocabulary ([UNK] [SEP] [CLS] [PAD] [MASK])
//      written in the text are matched first, exactly, and kept whole;
//   2. the rest is normalized (see bert_normalizer.h) and split into words on
//      whitespace and punctuation (see bert_pre_tokenizer.h);
//   3. each word becomes its greedy longest-match-first WordPiece pieces
//      ("##" marks a continuation), or one [UNK] when a piece has no match
//      or the word is longer than max_input_chars_per_word characters;
//   4. truncation, then [CLS] ... [SEP].
// Unicode semantics follow Hugging Face's own tables (see bert_unicode.h);
// tests/python/test_tokenizer_parity.py checks every code point against the
// installed `tokenizers` (0.23.3). A later `tokenizers` whose Rust knows newer
// Unicode may lower-case characters assigned after Unicode 17.0 that we keep.
#ifndef LION_SERVER_TOKENIZER_WORDPIECE_TOKENIZER_H_
#define LION_SERVER_TOKENIZER_WORDPIECE_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/tokenizer/bert_normalizer.h"
#include "server/tokenizer/encoding.h"
#include "server/tokenizer/vocab.h"

namespace lion::tokenizer {

struct TokenizerOptions {
  // vocab.txt: one token a line, id = line number.
  std::string vocab_path;
  // Lower-case the text (Hugging Face's `lowercase`).
  bool lowercase = true;
  // Strip accents; unset means "same as lowercase" (Hugging Face's default).
  std::optional<bool> strip_accents;
  // Longer words (in normalized characters) become one [UNK].
  int32_t max_input_chars_per_word = 100;
  std::string continuing_subword_prefix = "##";
  // [UNK], [CLS] and [SEP] must be in the vocabulary; [PAD] and [MASK] may not.
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";

  // InvalidArgument for an empty path or token, or a non-positive word limit.
  absl::Status Validate() const;
};

// Immutable after Create: Encode may run on any number of threads at once.
// Not copyable; owned by whoever created it.
class WordPieceTokenizer {
 public:
  // Errors: InvalidArgument (bad options, bad vocabulary, a required special
  // token missing from it), NotFound (vocabulary file unreadable), Internal
  // (ICU's Unicode data unavailable).
  static absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> Create(
      const TokenizerOptions& options);

  WordPieceTokenizer(const WordPieceTokenizer&) = delete;
  WordPieceTokenizer& operator=(const WordPieceTokenizer&) = delete;

  // Tokenizes `text`. Errors (InvalidArgument): `text` is not valid UTF-8 (the
  // message names the byte offset), or it needs more than
  // options.max_length tokens and options.truncation is kNone (the message
  // names the limit), or max_length cannot hold the special tokens;
  // Cancelled when options.should_stop said so.
  // Cost: linear in the text (O(K log K) for a run of K combining marks);
  // with a limit and no left truncation, tokenizing stops about one piece
  // (64 KiB) after the limit is passed, and memory stays within a few pieces.
  absl::StatusOr<Encoding> Encode(std::string_view text, const EncodeOptions& options) const;

  // The id of `token`, or -1 when it is not in the vocabulary.
  int32_t TokenToId(std::string_view token) const { return vocab_.Find(token); }
  // The token of `id`; empty when out of range.
  std::string_view IdToToken(int32_t id) const { return vocab_.Token(id); }
  int32_t vocab_size() const { return vocab_.size(); }
  // Bytes of the longest vocabulary token (bounds the size of a response).
  size_t longest_token_bytes() const { return max_token_bytes_; }

  int32_t unk_id() const { return unk_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }    // -1 when not in the vocabulary
  int32_t mask_id() const { return mask_id_; }  // -1 when not in the vocabulary

 private:
  struct SpecialToken {
    std::string text;
    int32_t id;
  };

  WordPieceTokenizer(const TokenizerOptions& options, Vocab vocab);

  // The id of the longest special token that `text` starts with, with its
  // length; {-1, 0} when none.
  std::pair<int32_t, size_t> MatchSpecial(std::string_view text) const;
  // Long texts are tokenized in pieces of about this many bytes.
  static constexpr size_t kPieceBytes = 64 << 10;

  // Tokenizes text[begin, end) (a piece: see text_segments.h), appending to
  // `body`; offsets count from the start of `text`.
  absl::Status EncodePiece(std::string_view text, size_t begin, size_t end, Encoding* body) const;
  // A forced cut split one long word into two [UNK]s at body[first_new - 1]
  // and body[first_new]: make them one [UNK] spanning both.
  void JoinUnknowns(size_t first_new, Encoding* body) const;
  // Normalizes, pre-tokenizes and WordPiece-tokenizes one stretch of text
  // that holds no special token, appending to `out`.
  void EncodeOrdinary(std::span<const Utf8Char> chars, Encoding* out) const;
  void EncodeWord(std::span<const NormalizedChar> word, Encoding* out) const;

  const Vocab vocab_;
  const BertNormalizerOptions normalizer_options_;
  const size_t max_input_chars_per_word_;
  const std::string prefix_;
  size_t max_token_bytes_ = 0;
  int32_t unk_id_ = -1;
  int32_t cls_id_ = -1;
  int32_t sep_id_ = -1;
  int32_t pad_id_ = -1;
  int32_t mask_id_ = -1;
  // Special tokens in the vocabulary, longest first, and their strings.
  std::vector<SpecialToken> specials_;
  std::vector<std::string> special_texts_;
};

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_WORDPIECE_TOKENIZER_H_
