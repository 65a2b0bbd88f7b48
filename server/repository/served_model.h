// What every front knows about one served model: its description, form
// limits, admission queue and (text models) tokenizer, and the threads that
// serve it. Published as shared_ptr<const ServedModel> (model_registry.h):
// every request in flight holds a reference, so a model that is replaced or
// unloaded stays whole until its last request is answered.
#ifndef LION_SERVER_REPOSITORY_SERVED_MODEL_H_
#define LION_SERVER_REPOSITORY_SERVED_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/batching/batcher.h"
#include "server/metrics/metrics.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/model.h"
#include "server/runtime/runner.h"
#include "server/tokenizer/wordpiece_tokenizer.h"

namespace lion::repository {

// The runner and batcher of one model. The destructor stops the batcher
// (requests still queued get UNAVAILABLE) and then the runner; it must not
// run on either thread. Not copyable.
struct ModelThreads {
  ModelThreads() = default;
  ModelThreads(const ModelThreads&) = delete;
  ModelThreads& operator=(const ModelThreads&) = delete;
  ~ModelThreads();

  std::unique_ptr<runtime::Runner> runner;     // declared first: destroyed last
  std::unique_ptr<batching::Batcher> batcher;  // dispatches to runner
};

struct ServedModel {
  runtime::ModelDescription description;
  runtime::FormLimits limits;
  int64_t max_input_tokens = 0;                    // effective per-request limit (model and flag)
  int64_t max_text_bytes = int64_t{8} << 20;       // --max_text_bytes
  int64_t max_response_bytes = int64_t{64} << 20;  // --max_message_bytes
  // The admission queue: threads->batcher, or borrowed (tests), then it must
  // outlive every request.
  batching::Batcher* batcher = nullptr;
  std::unique_ptr<tokenizer::WordPieceTokenizer> tokenizer;  // null for vision models
  std::unique_ptr<ModelThreads> threads;                     // null when the batcher is borrowed
};

// Reads `lowercase` from <model_dir>/config.json and loads vocab.txt.
// INVALID_ARGUMENT when the vocabulary has more tokens than the model's
// embedding table has rows (`vocab_size`): an id past the table would fail
// whatever batch it joined.
absl::StatusOr<std::unique_ptr<tokenizer::WordPieceTokenizer>> LoadTokenizer(
    const std::string& model_dir, int64_t vocab_size);

// The model's lion_model_info labels (names as config.json spells them).
metrics::ModelLabels MetricLabels(const runtime::ModelDescription& description);

}  // namespace lion::repository

#endif  // LION_SERVER_REPOSITORY_SERVED_MODEL_H_
