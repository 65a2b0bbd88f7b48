// A WordPiece vocabulary: token strings and their ids.
#ifndef LION_SERVER_TOKENIZER_VOCAB_H_
#define LION_SERVER_TOKENIZER_VOCAB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lion::tokenizer {

// Immutable after construction, so safe to share between threads; copyable.
class Vocab {
 public:
  static constexpr int32_t kNotFound = -1;

  // Reads a vocab.txt: one token a line, the id is the 0-based line number,
  // trailing whitespace (and "\r\n") is trimmed. When a token appears twice
  // its later line wins, as in Hugging Face. Errors: NotFound when the file
  // cannot be read, InvalidArgument for an empty file, a line that is not
  // UTF-8, or more than 2^31-1 lines.
  static absl::StatusOr<Vocab> Load(const std::string& path);

  // Same, from the file's contents; `source` names it in error messages.
  static absl::StatusOr<Vocab> Parse(std::string_view contents, const std::string& source);

  // The id of `token`, or kNotFound.
  int32_t Find(std::string_view token) const {
    // Debian's abseil has its own string_view type, not std::string_view.
    auto it = ids_.find(absl::string_view(token.data(), token.size()));
    return it == ids_.end() ? kNotFound : it->second;
  }

  // The token on line `id`; empty for an id out of range.
  std::string_view Token(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < tokens_.size() ? std::string_view(tokens_[id])
                                                               : std::string_view();
  }

  // Number of lines (ids are 0 .. size()-1).
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int32_t> ids_;
};

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_VOCAB_H_
