// Bench inputs drawn from a length distribution:
//   fixed:N       every text is N words
//   uniform:A:B   N drawn uniformly from [A, B] per text
//   file:PATH     the non-empty lines of PATH, in random order
// Generated texts are words from a built-in list of common English words,
// each of which is one token in a BERT-style WordPiece vocabulary, so N words
// are about N tokens (plus the model's [CLS]/[SEP]).
#ifndef LION_CLIENT_TEXT_SOURCE_H_
#define LION_CLIENT_TEXT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lion::client {

// Not thread-safe (the bench's dispatcher thread owns it); not copyable.
class TextSource {
 public:
  // Errors: INVALID_ARGUMENT for a malformed spec, NOT_FOUND/INVALID_ARGUMENT
  // for an unreadable or empty file.
  static absl::StatusOr<std::unique_ptr<TextSource>> Create(absl::string_view spec, uint64_t seed);

  TextSource(const TextSource&) = delete;
  TextSource& operator=(const TextSource&) = delete;

  // The next text.
  std::string Next();
  // `words` words from the built-in list (deterministic for a given rng state).
  static std::string MakeText(int words, std::mt19937_64& rng);

 private:
  TextSource(int min_words, int max_words, std::vector<std::string> lines, uint64_t seed)
      : min_words_(min_words), max_words_(max_words), lines_(std::move(lines)), rng_(seed) {}

  int min_words_;
  int max_words_;
  std::vector<std::string> lines_;  // file: mode when non-empty
  std::mt19937_64 rng_;
};

}  // namespace lion::client

#endif  // LION_CLIENT_TEXT_SOURCE_H_
