#include "server/tokenizer/vocab.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "server/tokenizer/bert_unicode.h"
#include "server/tokenizer/utf8.h"

namespace lion::tokenizer {
namespace {

// Length of `line` without its trailing whitespace (Rust's str::trim_end).
size_t TrimmedLength(const std::vector<Utf8Char>& chars) {
  size_t n = chars.size();
  while (n > 0 && IsBertWhitespace(chars[n - 1].code_point)) --n;
  return n == 0 ? 0 : chars[n - 1].end;
}

}  // namespace

absl::StatusOr<Vocab> Vocab::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read vocabulary file ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read vocabulary file ", path));
  return Parse(contents.str(), path);
}

absl::StatusOr<Vocab> Vocab::Parse(std::string_view contents, const std::string& source) {
  Vocab vocab;
  std::vector<Utf8Char> chars;
  size_t pos = 0;
  while (pos < contents.size()) {
    size_t eol = contents.find('\n', pos);
    if (eol == std::string_view::npos) eol = contents.size();
    const std::string_view line = contents.substr(pos, eol - pos);
    if (absl::Status s = DecodeUtf8(line, 0, &chars); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary ", source, " line ",
                                                     vocab.tokens_.size() + 1, ": ", s.message()));
    }
    if (vocab.tokens_.size() == static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat("vocabulary ", source, " has too many lines"));
    }
    const int32_t id = static_cast<int32_t>(vocab.tokens_.size());
    vocab.tokens_.emplace_back(line.substr(0, TrimmedLength(chars)));
    vocab.ids_.insert_or_assign(vocab.tokens_.back(), id);
    pos = eol + 1;
  }
  if (vocab.tokens_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary ", source, " is empty"));
  }
  return vocab;
}

}  // namespace lion::tokenizer
