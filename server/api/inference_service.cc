#include "server/api/inference_service.h"

#include "absl/strings/str_cat.h"
#include "server/api/grpc_call.h"
#include "server/api/status_mapping.h"
#include "server/api/stream_call.h"
#include "server/api/tasks.h"

namespace lion::api {

template <typename Task>
void InferenceService::Start(const grpc::CallbackServerContext& ctx, const grpc::ByteBuffer& bytes,
                             std::shared_ptr<std::atomic<bool>> cancelled,
                             std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
                             std::shared_ptr<std::string> label) {
  using Resp = typename Task::Resp;
  absl::StatusOr<std::shared_ptr<DrainGate::Pass>> pass = dispatcher_->Enter();
  if (!pass.ok()) return reply(pass.status());
  if (*pass != nullptr) {
    // The pass is held until the last copy of the reply is gone, which is
    // after the reply went out: a drain waits for it.
    reply = [reply = std::move(reply), pass = *std::move(pass)](absl::StatusOr<Resp> r) {
      reply(std::move(r));
    };
  }
  const ServiceContext& sc = context();
  if (absl::Status s = sc.Authenticate(ctx); !s.ok()) return reply(s);
  auto req = std::make_shared<typename Task::Req>();
  if (absl::Status s = ParseRequest(bytes, sc.wire, req.get()); !s.ok()) return reply(s);
  CallOptions call;
  call.deadline = DeadlineOf(ctx, *sc.clock);
  call.cancelled = std::move(cancelled);
  dispatcher_->Run<Task>(std::move(req), call, std::move(reply), std::move(label));
}

template <typename Task>
grpc::ServerUnaryReactor* InferenceService::Unary(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
  auto* call = new UnaryCall();
  const ServiceContext& sc = context();
  const TimePoint start = sc.clock->Now();
  auto label = std::make_shared<std::string>();  // set once the model resolves
  auto finish = [&sc, call, resp, start, label](absl::StatusOr<typename Task::Resp> result) {
    absl::Status status = result.status();
    if (status.ok()) status = SerializeResponse(*result, sc.max_message_bytes, resp);
    sc.Record(*label, Task::kMethod, status, start);
    sc.RecordFront("grpc", absl::StrCat("lion.v1.Inference/", Task::kMethod), status, start);
    call->Finish(ToGrpcStatus(status));
  };
  Start<Task>(*ctx, *req, call->cancelled, std::move(finish), label);
  return call;
}

grpc::ServerUnaryReactor* InferenceService::Classify(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<ClassifyTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Embed(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
  return Unary<EmbedTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::FillMask(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<FillMaskTask>(ctx, req, resp);
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* req,
                                                     grpc::ByteBuffer* resp) {
  return Unary<TokenizeTask>(ctx, req, resp);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::ClassifyStream(
    grpc::CallbackServerContext* ctx) {
  return new StreamCall<ClassifyTask>(this, ctx, ClassifyTask::kStreamMethod);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::EmbedStream(
    grpc::CallbackServerContext* ctx) {
  return new StreamCall<EmbedTask>(this, ctx, EmbedTask::kStreamMethod);
}

}  // namespace lion::api
