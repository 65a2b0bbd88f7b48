// The three model-running RPCs as tasks: Build turns a validated request into
// a runtime::Request (without `done`, deadline or cancellation, which the
// service sets); Fill turns the runner's Result into the response (`asked`
// is the Build's outputs, e.g. the mask positions). Errors:
// FAILED_PRECONDITION for a task the model lacks, INVALID_ARGUMENT for bad
// input (naming the field), including a request whose response could not be
// sent (larger than max_response_bytes: checked before any compute);
// CANCELLED when `should_stop` (may be empty) stopped tokenizing.
// Thread-safe (no state).
#ifndef LION_SERVER_API_TASKS_H_
#define LION_SERVER_API_TASKS_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "lion/v1/lion.pb.h"
#include "server/repository/served_model.h"
#include "server/runtime/request.h"

namespace lion::api {

using repository::ServedModel;

// Usage proto from the runner's Usage.
void FillUsage(const runtime::Usage& usage, v1::Usage* out);

// kMethod (and kStreamMethod) name the RPC in lion_requests_total{method};
// the HTTP routes count under the task they run. tasks.cc checks at compile
// time that metrics::Metrics::kMethods lists each of them.
struct ClassifyTask {
  using Req = v1::ClassifyRequest;
  using Resp = v1::ClassifyResponse;
  static constexpr const char* kMethod = "Classify";
  static constexpr const char* kStreamMethod = "ClassifyStream";
  static absl::StatusOr<std::unique_ptr<runtime::Request>> Build(
      const Req& req, const ServedModel& model, const std::function<bool()>& should_stop);
  static void Fill(const Req& req, const ServedModel& model, const runtime::OutputRequest& asked,
                   runtime::Result result, Resp* resp);
};

struct EmbedTask {
  using Req = v1::EmbedRequest;
  using Resp = v1::EmbedResponse;
  static constexpr const char* kMethod = "Embed";
  static constexpr const char* kStreamMethod = "EmbedStream";
  static absl::StatusOr<std::unique_ptr<runtime::Request>> Build(
      const Req& req, const ServedModel& model, const std::function<bool()>& should_stop);
  static void Fill(const Req& req, const ServedModel& model, const runtime::OutputRequest& asked,
                   runtime::Result result, Resp* resp);
};

struct FillMaskTask {
  using Req = v1::FillMaskRequest;
  using Resp = v1::FillMaskResponse;
  static constexpr const char* kMethod = "FillMask";
  static absl::StatusOr<std::unique_ptr<runtime::Request>> Build(
      const Req& req, const ServedModel& model, const std::function<bool()>& should_stop);
  static void Fill(const Req& req, const ServedModel& model, const runtime::OutputRequest& asked,
                   runtime::Result result, Resp* resp);
};

// Tokenize needs no model run: Respond computes the response at once.
struct TokenizeTask {
  using Req = v1::TokenizeRequest;
  using Resp = v1::TokenizeResponse;
  static constexpr const char* kMethod = "Tokenize";
  static absl::StatusOr<Resp> Respond(const Req& req, const ServedModel& model,
                                      const std::function<bool()>& should_stop);
};

// One row of an Open Inference Protocol ModelInfer call: its input and
// options as a lion.v1 EmbedRequest (model, form, input, truncation,
// pooling, normalize), and which outputs to compute.
struct InferRow {
  v1::EmbedRequest input;
  bool logits = false;
  bool embeddings = false;
  bool token_embeddings = false;
};

// Runs one InferRow; the response is the runner's Result, with the pooled
// embedding normalised when asked. INVALID_ARGUMENT for logits on a model
// without a classification head.
struct InferRowTask {
  using Req = InferRow;
  using Resp = runtime::Result;
  static constexpr const char* kMethod = "ModelInfer";
  static absl::StatusOr<std::unique_ptr<runtime::Request>> Build(
      const Req& req, const ServedModel& model, const std::function<bool()>& should_stop);
  static void Fill(const Req& req, const ServedModel& model, const runtime::OutputRequest& asked,
                   runtime::Result result, Resp* resp);
};

}  // namespace lion::api

#endif  // LION_SERVER_API_TASKS_H_
