// lion.v1.Inference on gRPC's callback API, with raw (ByteBuffer) methods so
// that bad bytes get INVALID_ARGUMENT and size limits apply before parsing
// (wire.h). Handlers run on gRPC's threads: they enter the drain gate,
// authenticate and parse, then hand the request to the Dispatcher (which
// tokenizes/decodes inline or on its pool and enqueues) and return; the
// runner thread completes each call. They never block and never touch
// LibTorch. Thread-safe. The Dispatcher must outlive the gRPC server.
#ifndef LION_SERVER_API_INFERENCE_SERVICE_H_
#define LION_SERVER_API_INFERENCE_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lion/v1/lion.grpc.pb.h"
#include "server/api/dispatcher.h"
#include "server/api/service_context.h"

namespace lion::api {

class InferenceService final
    : public v1::Inference::WithRawCallbackMethod_Classify<
          v1::Inference::WithRawCallbackMethod_Embed<v1::Inference::WithRawCallbackMethod_FillMask<
              v1::Inference::WithRawCallbackMethod_Tokenize<
                  v1::Inference::WithRawCallbackMethod_ClassifyStream<
                      v1::Inference::WithRawCallbackMethod_EmbedStream<
                          v1::Inference::Service>>>>>> {
 public:
  explicit InferenceService(Dispatcher* dispatcher) : dispatcher_(dispatcher) {}

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                     grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                  grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* FillMask(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                     grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                     grpc::ByteBuffer* resp) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ClassifyStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EmbedStream(
      grpc::CallbackServerContext* ctx) override;

  // Runs one request of Task given as its wire bytes (gate, authentication,
  // parsing, then Dispatcher::Run): `reply` is called exactly once, inline or
  // later from a pool, batcher or runner thread, with the response or the
  // error. `model` receives the metric label (the resolved model name; left
  // empty for unknown names, which clients choose freely) before `reply` is
  // called.
  template <typename Task>
  void Start(const grpc::CallbackServerContext& ctx, const grpc::ByteBuffer& bytes,
             std::shared_ptr<std::atomic<bool>> cancelled,
             std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
             std::shared_ptr<std::string> model);

  const ServiceContext& context() const { return dispatcher_->context(); }

 private:
  template <typename Task>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                  grpc::ByteBuffer* resp);
  Dispatcher* const dispatcher_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_INFERENCE_SERVICE_H_
