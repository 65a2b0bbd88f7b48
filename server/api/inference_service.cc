#include "server/api/inference_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "server/api/status_mapping.h"
#include "server/api/stream_call.h"
#include "server/api/tasks.h"
#include "server/common/status_macros.h"

namespace lion::api {
namespace {

// gRPC's deadline (system clock) on our clock.
TimePoint DeadlineOf(const grpc::CallbackServerContext& ctx, const Clock& clock) {
  const auto deadline = ctx.deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return TimePoint::max();
  }
  const auto left = deadline - std::chrono::system_clock::now();
  return clock.Now() + std::chrono::duration_cast<Duration>(left);
}

// A unary call completed later by the runner; deletes itself when gRPC is done.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  void OnCancel() override { cancelled->store(true); }
  void OnDone() override { delete this; }
};

tokenizer::Truncation ToTokenizer(v1::Truncation t) {
  return t == v1::TRUNCATION_RIGHT  ? tokenizer::Truncation::kRight
         : t == v1::TRUNCATION_LEFT ? tokenizer::Truncation::kLeft
                                    : tokenizer::Truncation::kNone;
}

}  // namespace

absl::Status ServiceContext::Authenticate(const grpc::CallbackServerContext& ctx) const {
  if (keys == nullptr) return absl::OkStatus();
  absl::Status s = keys->Check(ctx.client_metadata());
  if (!s.ok()) metrics->RecordReject("", metrics::RejectReason::kUnauthenticated);
  return s;
}

void ServiceContext::Record(const std::string& model, const std::string& method,
                            const absl::Status& status, TimePoint start) const {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    metrics->RecordReject(model, metrics::RejectReason::kInvalid);
  }
  metrics->RecordRequest(model, method, CodeName(status.code()),
                         std::chrono::duration<double>(clock->Now() - start).count());
}

template <typename Task>
absl::Status InferenceService::Submit(const grpc::CallbackServerContext& ctx,
                                      const typename Task::Req& req,
                                      std::shared_ptr<std::atomic<bool>> cancelled,
                                      std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
                                      std::string* model_label) {
  RETURN_IF_ERROR(ctx_.Authenticate(ctx));
  ASSIGN_OR_RETURN(const ServedModel* model, ctx_.models->Find(req.model()));
  *model_label = model->description.name;
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::Request> request, Task::Build(req, *model));
  request->deadline = DeadlineOf(ctx, *ctx_.clock);
  request->cancelled = std::move(cancelled);
  ctx_.metrics->ObserveInputTokens(model->description.name, request->length);
  // Fill needs only the request's options: keep a copy without the input.
  auto params = std::make_shared<typename Task::Req>(req);
  params->clear_input();
  request->done = [model, params, asked = request->outputs,
                   reply = std::move(reply)](absl::StatusOr<runtime::Result> result) {
    if (!result.ok()) return reply(result.status());
    typename Task::Resp resp;
    resp.set_id(params->id());
    resp.set_model(model->description.name);
    Task::Fill(*params, *model, asked, *std::move(result), &resp);
    reply(std::move(resp));
  };
  return model->batcher->Submit(std::move(request));
}

template <typename Task>
grpc::ServerUnaryReactor* InferenceService::Unary(grpc::CallbackServerContext* ctx,
                                                  const typename Task::Req* req,
                                                  typename Task::Resp* resp) {
  auto* call = new UnaryCall();
  const TimePoint start = ctx_.clock->Now();
  auto label = std::make_shared<std::string>();  // set once the model resolves
  auto finish = [this, call, resp, start, label](absl::StatusOr<typename Task::Resp> result) {
    ctx_.Record(*label, Task::kMethod, result.status(), start);
    if (!result.ok()) return call->Finish(ToGrpcStatus(result.status()));
    *resp = *std::move(result);
    call->Finish(grpc::Status::OK);
  };
  absl::Status admitted = Submit<Task>(*ctx, *req, call->cancelled, finish, label.get());
  if (!admitted.ok()) finish(admitted);
  return call;
}

grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* ctx,
                                                     const v1::ClassifyRequest* req,
                                                     v1::ClassifyResponse* resp) {
  return Unary<ClassifyTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Embed(grpc::CallbackServerContext* ctx,
                                                  const v1::EmbedRequest* req,
                                                  v1::EmbedResponse* resp) {
  return Unary<EmbedTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::FillMask(grpc::CallbackServerContext* ctx,
                                                     const v1::FillMaskRequest* req,
                                                     v1::FillMaskResponse* resp) {
  return Unary<FillMaskTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* ctx,
                                                     const v1::TokenizeRequest* req,
                                                     v1::TokenizeResponse* resp) {
  const TimePoint start = ctx_.clock->Now();
  std::string label;  // unknown names stay out of metric labels
  auto run = [&]() -> absl::Status {
    RETURN_IF_ERROR(ctx_.Authenticate(*ctx));
    ASSIGN_OR_RETURN(const ServedModel* model, ctx_.models->Find(req->model()));
    label = model->description.name;
    if (model->tokenizer == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("Tokenize needs a text model; model ", label, " takes images"));
    }
    if (!v1::Truncation_IsValid(req->truncation())) {
      return absl::InvalidArgumentError("truncation: unknown value");
    }
    tokenizer::EncodeOptions options;
    options.add_special_tokens = req->add_special_tokens();
    options.max_length = static_cast<uint32_t>(model->max_input_tokens);
    options.truncation = ToTokenizer(req->truncation());
    auto encoding = model->tokenizer->Encode(req->text(), options);
    if (!encoding.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("text: ", encoding.status().message()));
    }
    resp->set_id(req->id());
    resp->set_model(label);
    resp->mutable_ids()->Assign(encoding->ids.begin(), encoding->ids.end());
    for (size_t i = 0; i < encoding->size(); ++i) {
      resp->add_tokens(encoding->tokens[i]);
      v1::Offset* offset = resp->add_offsets();
      offset->set_start(encoding->offsets[i].first);
      offset->set_end(encoding->offsets[i].second);
    }
    return absl::OkStatus();
  };
  absl::Status status = run();
  ctx_.Record(label, "Tokenize", status, start);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse>*
InferenceService::ClassifyStream(grpc::CallbackServerContext* ctx) {
  return new StreamCall<ClassifyTask>(this, ctx, "ClassifyStream");
}

grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* InferenceService::EmbedStream(
    grpc::CallbackServerContext* ctx) {
  return new StreamCall<EmbedTask>(this, ctx, "EmbedStream");
}

}  // namespace lion::api
