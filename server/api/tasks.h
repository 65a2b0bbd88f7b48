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
#include "server/api/served_model.h"
#include "server/runtime/request.h"

namespace lion::api {

// Usage proto from the runner's Usage.
void FillUsage(const runtime::Usage& usage, v1::Usage* out);

struct ClassifyTask {
  using Req = v1::ClassifyRequest;
  using Resp = v1::ClassifyResponse;
  static constexpr const char* kMethod = "Classify";
  static absl::StatusOr<std::unique_ptr<runtime::Request>> Build(
      const Req& req, const ServedModel& model, const std::function<bool()>& should_stop);
  static void Fill(const Req& req, const ServedModel& model, const runtime::OutputRequest& asked,
                   runtime::Result result, Resp* resp);
};

struct EmbedTask {
  using Req = v1::EmbedRequest;
  using Resp = v1::EmbedResponse;
  static constexpr const char* kMethod = "Embed";
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

}  // namespace lion::api

#endif  // LION_SERVER_API_TASKS_H_
