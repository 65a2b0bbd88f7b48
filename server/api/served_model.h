// What the API knows about each served model: its description, form limits,
// admission queue and (text models) tokenizer; and the registry that resolves
// a request's `model` field. Immutable after construction: thread-safe reads.
#ifndef LION_SERVER_API_SERVED_MODEL_H_
#define LION_SERVER_API_SERVED_MODEL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/batching/batcher.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/model.h"
#include "server/tokenizer/wordpiece_tokenizer.h"

namespace lion::api {

struct ServedModel {
  runtime::ModelDescription description;
  runtime::FormLimits limits;
  int64_t max_input_tokens = 0;  // effective per-request limit (model and flag)
  int64_t max_text_bytes = int64_t{8} << 20;     // --max_text_bytes
  int64_t max_response_bytes = int64_t{64} << 20;  // --max_message_bytes
  batching::Batcher* batcher = nullptr;  // borrowed; outlives the gRPC server
  std::unique_ptr<tokenizer::WordPieceTokenizer> tokenizer;  // null for vision models
};

// Reads `lowercase` from <model_dir>/config.json and loads vocab.txt.
// INVALID_ARGUMENT when the vocabulary has more tokens than the model's
// embedding table has rows (`vocab_size`): an id past the table would fail
// whatever batch it joined.
absl::StatusOr<std::unique_ptr<tokenizer::WordPieceTokenizer>> LoadTokenizer(
    const std::string& model_dir, int64_t vocab_size);

// Starts empty (the gRPC server is up while models load); Publish() hands it
// the models once, after which it is immutable. Thread-safe.
class ModelRegistry {
 public:
  ModelRegistry() = default;
  explicit ModelRegistry(std::vector<std::unique_ptr<ServedModel>> models) {
    Publish(std::move(models));
  }
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Call once, from one thread, before any reader relies on the models.
  void Publish(std::vector<std::unique_ptr<ServedModel>> models);

  // "" resolves to the first model by name. NOT_FOUND naming the model (and
  // listing the served ones); UNAVAILABLE before Publish().
  absl::StatusOr<const ServedModel*> Find(const std::string& name) const;
  // Empty before Publish().
  const std::vector<std::unique_ptr<ServedModel>>& models() const;

 private:
  std::vector<std::unique_ptr<ServedModel>> models_;  // sorted by name; written once
  std::atomic<bool> published_{false};
};

}  // namespace lion::api

#endif  // LION_SERVER_API_SERVED_MODEL_H_
