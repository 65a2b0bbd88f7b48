// What the tokenizer returns for a text, and the per-call options.
#ifndef LION_SERVER_TOKENIZER_ENCODING_H_
#define LION_SERVER_TOKENIZER_ENCODING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lion::tokenizer {

// What to do with a text longer than EncodeOptions::max_length tokens.
enum class Truncation {
  kNone,   // reject it with InvalidArgumentError naming the limit
  kRight,  // keep the first tokens
  kLeft,   // keep the last tokens
};

struct EncodeOptions {
  // Wrap the tokens in [CLS] ... [SEP].
  bool add_special_tokens = true;
  // Most tokens in the result, special tokens included; 0 = no limit.
  uint32_t max_length = 0;
  Truncation truncation = Truncation::kNone;
  // Polled between pieces of a long text (every 64 KiB or so): true stops
  // tokenizing with CancelledError (the caller's deadline passed or its
  // client left). May be empty.
  std::function<bool()> should_stop;
};

// One tokenized text; all vectors have the same length. Copyable.
struct Encoding {
  std::vector<int32_t> ids;
  // Token-type (segment) ids: 0 for every token of a single text.
  std::vector<int32_t> type_ids;
  // The vocabulary strings of the tokens ("##" continuation prefix included).
  std::vector<std::string> tokens;
  // UTF-8 byte range [first, second) of each token in the original text;
  // {0, 0} for the added [CLS] and [SEP].
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  // True when truncation dropped tokens.
  bool truncated = false;

  size_t size() const { return ids.size(); }
};

}  // namespace lion::tokenizer

#endif  // LION_SERVER_TOKENIZER_ENCODING_H_
