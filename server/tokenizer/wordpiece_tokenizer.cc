#include "server/tokenizer/wordpiece_tokenizer.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/tokenizer/bert_pre_tokenizer.h"
#include "server/tokenizer/bert_unicode.h"
#include "server/tokenizer/text_segments.h"

namespace lion::tokenizer {
namespace {

void AppendToken(int32_t id, std::string token, uint32_t start, uint32_t end, Encoding* out) {
  out->ids.push_back(id);
  out->tokens.push_back(std::move(token));
  out->offsets.emplace_back(start, end);
}

// Keeps `keep` tokens of `e`: the first ones, or the last ones when `left`.
void Truncate(size_t keep, bool left, Encoding* e) {
  const size_t drop = e->ids.size() - keep;
  auto cut = [&](auto& v) {
    if (left) {
      v.erase(v.begin(), v.begin() + drop);
    } else {
      v.resize(keep);
    }
  };
  cut(e->ids);
  cut(e->tokens);
  cut(e->offsets);
  e->truncated = true;
}

}  // namespace

absl::Status TokenizerOptions::Validate() const {
  if (vocab_path.empty()) return absl::InvalidArgumentError("tokenizer: vocab_path is empty");
  if (max_input_chars_per_word <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokenizer: max_input_chars_per_word must be positive, got ", max_input_chars_per_word));
  }
  for (const std::string* t : {&unk_token, &cls_token, &sep_token, &pad_token, &mask_token}) {
    if (t->empty()) return absl::InvalidArgumentError("tokenizer: a special token is empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::Create(
    const TokenizerOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  if (!HaveUnicodeData()) return absl::InternalError("tokenizer: ICU normalization data missing");
  ASSIGN_OR_RETURN(Vocab vocab, Vocab::Load(options.vocab_path));
  for (const std::string* t : {&options.unk_token, &options.cls_token, &options.sep_token}) {
    if (vocab.Find(*t) == Vocab::kNotFound) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary ", options.vocab_path, " has no ", *t, " token"));
    }
  }
  return std::unique_ptr<WordPieceTokenizer>(new WordPieceTokenizer(options, std::move(vocab)));
}

WordPieceTokenizer::WordPieceTokenizer(const TokenizerOptions& options, Vocab vocab)
    : vocab_(std::move(vocab)),
      normalizer_options_{.clean_text = true,
                          .handle_chinese_chars = true,
                          .strip_accents = options.strip_accents.value_or(options.lowercase),
                          .lowercase = options.lowercase},
      max_input_chars_per_word_(static_cast<size_t>(options.max_input_chars_per_word)),
      prefix_(options.continuing_subword_prefix) {
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    max_token_bytes_ = std::max(max_token_bytes_, vocab_.Token(id).size());
  }
  unk_id_ = vocab_.Find(options.unk_token);
  cls_id_ = vocab_.Find(options.cls_token);
  sep_id_ = vocab_.Find(options.sep_token);
  pad_id_ = vocab_.Find(options.pad_token);
  mask_id_ = vocab_.Find(options.mask_token);
  for (const std::string* t : {&options.unk_token, &options.sep_token, &options.cls_token,
                               &options.pad_token, &options.mask_token}) {
    const int32_t id = vocab_.Find(*t);
    if (id != Vocab::kNotFound) specials_.push_back({*t, id});
  }
  std::stable_sort(
      specials_.begin(), specials_.end(),
      [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  for (const SpecialToken& s : specials_) special_texts_.push_back(s.text);
}

std::pair<int32_t, size_t> WordPieceTokenizer::MatchSpecial(std::string_view text) const {
  for (const SpecialToken& s : specials_) {
    if (text.starts_with(s.text)) return {s.id, s.text.size()};
  }
  return {-1, 0};
}

absl::StatusOr<Encoding> WordPieceTokenizer::Encode(std::string_view text,
                                                    const EncodeOptions& options) const {
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError("text is 4 GiB or longer");
  }
  const size_t added = options.add_special_tokens ? 2 : 0;
  const bool limited = options.max_length > 0;
  if (limited && options.truncation != Truncation::kNone && options.max_length < added) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_length ", options.max_length, " cannot hold the ", added, " special tokens"));
  }
  const size_t keep = limited ? options.max_length - std::min<size_t>(added, options.max_length) : 0;
  // `complete`: the whole text was tokenized, so the count is exact.
  auto over_limit = [&](size_t tokens, bool complete) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input is ", complete ? "" : "at least ", tokens + added, " tokens, more than the limit of ",
        options.max_length, " tokens (truncation is off)"));
  };

  // Piece by piece (text_segments.h): memory stays bounded by a piece, and
  // tokenizing stops once the limit is passed unless the end is what is kept.
  Encoding body;
  bool join_next = false;  // the last cut split a word: join its [UNK] halves
  for (size_t begin = 0; begin < text.size();) {
    if (options.should_stop && options.should_stop()) {
      return absl::CancelledError("tokenization stopped: the request was cancelled or expired");
    }
    const Cut cut = NextCut(text, begin, kPieceBytes, kPieceBytes, special_texts_);
    const size_t first_new = body.size();
    RETURN_IF_ERROR(EncodePiece(text, begin, cut.end, &body));
    if (join_next) JoinUnknowns(first_new, &body);
    join_next = cut.forced;
    begin = cut.end;
    if (!limited || body.size() <= keep || join_next) continue;
    if (options.truncation == Truncation::kNone) {
      return over_limit(body.size(), begin == text.size());
    }
    if (options.truncation == Truncation::kRight) break;  // the rest would be cut off
    // Left: only the last `keep` tokens survive; drop the others as we go
    // (one more is kept for a pending join).
    if (body.size() > 2 * keep + 1024) Truncate(keep + 1, /*left=*/true, &body);
  }
  if (limited && body.size() + added > options.max_length) {
    if (options.truncation == Truncation::kNone) return over_limit(body.size(), true);
    Truncate(keep, options.truncation == Truncation::kLeft, &body);
  }
  if (!options.add_special_tokens) {
    body.type_ids.assign(body.size(), 0);
    return body;
  }
  Encoding out;
  out.truncated = body.truncated;
  out.ids.reserve(body.size() + added);
  out.tokens.reserve(body.size() + added);
  out.offsets.reserve(body.size() + added);
  AppendToken(cls_id_, std::string(vocab_.Token(cls_id_)), 0, 0, &out);
  out.ids.insert(out.ids.end(), body.ids.begin(), body.ids.end());
  out.offsets.insert(out.offsets.end(), body.offsets.begin(), body.offsets.end());
  std::move(body.tokens.begin(), body.tokens.end(), std::back_inserter(out.tokens));
  AppendToken(sep_id_, std::string(vocab_.Token(sep_id_)), 0, 0, &out);
  out.type_ids.assign(out.size(), 0);
  return out;
}

absl::Status WordPieceTokenizer::EncodePiece(std::string_view text, size_t begin, size_t end,
                                             Encoding* body) const {
  std::vector<Utf8Char> chars;
  RETURN_IF_ERROR(
      DecodeUtf8(text.substr(begin, end - begin), static_cast<uint32_t>(begin), &chars));
  // Special tokens written in the text are matched on the raw text, leftmost
  // first, the longest at a position; the stretches between are ordinary text.
  size_t stretch_begin = 0;
  for (size_t i = 0; i < chars.size(); ++i) {
    const auto [id, length] = MatchSpecial(text.substr(chars[i].start));
    if (id < 0) continue;
    EncodeOrdinary(std::span(chars).subspan(stretch_begin, i - stretch_begin), body);
    const uint32_t match_end = chars[i].start + static_cast<uint32_t>(length);
    AppendToken(id, std::string(vocab_.Token(id)), chars[i].start, match_end, body);
    while (i + 1 < chars.size() && chars[i + 1].start < match_end) ++i;
    stretch_begin = i + 1;
  }
  EncodeOrdinary(std::span(chars).subspan(stretch_begin), body);
  return absl::OkStatus();
}

void WordPieceTokenizer::JoinUnknowns(size_t first_new, Encoding* body) const {
  if (first_new == 0 || first_new >= body->size()) return;
  if (body->ids[first_new - 1] != unk_id_ || body->ids[first_new] != unk_id_) return;
  body->offsets[first_new - 1].second = body->offsets[first_new].second;
  body->ids.erase(body->ids.begin() + static_cast<std::ptrdiff_t>(first_new));
  body->tokens.erase(body->tokens.begin() + static_cast<std::ptrdiff_t>(first_new));
  body->offsets.erase(body->offsets.begin() + static_cast<std::ptrdiff_t>(first_new));
}

void WordPieceTokenizer::EncodeOrdinary(std::span<const Utf8Char> chars, Encoding* out) const {
  if (chars.empty()) return;
  std::vector<NormalizedChar> normalized;
  BertNormalize(chars, normalizer_options_, &normalized);
  std::vector<WordRange> words;
  BertPreTokenize(normalized, &words);
  for (const WordRange& w : words) {
    EncodeWord(std::span(normalized).subspan(w.begin, w.end - w.begin), out);
  }
}

void WordPieceTokenizer::EncodeWord(std::span<const NormalizedChar> word, Encoding* out) const {
  const size_t n = word.size();
  const size_t first_piece = out->size();
  auto unknown = [&] {
    out->ids.resize(first_piece);
    out->tokens.resize(first_piece);
    out->offsets.resize(first_piece);
    AppendToken(unk_id_, std::string(vocab_.Token(unk_id_)), word.front().start, word.back().end,
                out);
  };
  if (n > max_input_chars_per_word_) return unknown();

  // The word in UTF-8, and where each character begins in it.
  std::string utf8;
  std::vector<size_t> bounds;
  bounds.reserve(n + 1);
  for (const NormalizedChar& c : word) {
    bounds.push_back(utf8.size());
    AppendUtf8(c.code_point, &utf8);
  }
  bounds.push_back(utf8.size());

  // Greedy longest match first; candidates longer than the longest
  // vocabulary token cannot match, so they are skipped.
  std::string candidate;
  for (size_t start = 0; start < n;) {
    const size_t prefix_bytes = start > 0 ? prefix_.size() : 0;
    size_t end = n;
    while (end > start && bounds[end] - bounds[start] + prefix_bytes > max_token_bytes_) --end;
    int32_t id = Vocab::kNotFound;
    for (; end > start; --end) {
      candidate.clear();
      if (start > 0) candidate.append(prefix_);
      candidate.append(utf8, bounds[start], bounds[end] - bounds[start]);
      id = vocab_.Find(candidate);
      if (id != Vocab::kNotFound) break;
    }
    if (id == Vocab::kNotFound) return unknown();
    AppendToken(id, candidate, word[start].start, word[end - 1].end, out);
    start = end;
  }
}

}  // namespace lion::tokenizer
