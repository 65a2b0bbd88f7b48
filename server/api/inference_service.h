// lion.v1.Inference on gRPC's callback API, with raw (ByteBuffer) methods so
// that bad bytes get INVALID_ARGUMENT and size limits apply before parsing
// (wire.h). Handlers run on gRPC's threads: they enter the drain gate,
// authenticate, parse, then tokenize/decode and enqueue — inline for small
// inputs, on the preprocess pool for large ones — and return; the runner
// thread completes each call. They never block and never touch LibTorch.
// Thread-safe. Everything in the ServiceContext must outlive the gRPC server.
#ifndef LION_SERVER_API_INFERENCE_SERVICE_H_
#define LION_SERVER_API_INFERENCE_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lion/v1/lion.grpc.pb.h"
#include "server/api/api_keys.h"
#include "server/api/drain_gate.h"
#include "server/api/preprocess_pool.h"
#include "server/api/served_model.h"
#include "server/api/wire.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"

namespace lion::api {

// What the services share: models, credentials (null = open), metrics, time,
// the drain gate and the request limits.
struct ServiceContext {
  const ModelRegistry* models = nullptr;
  const ApiKeys* keys = nullptr;
  metrics::Metrics* metrics = nullptr;
  Clock* clock = nullptr;
  DrainGate* gate = nullptr;  // null: never draining (tests)
  WireLimits wire;
  int64_t max_message_bytes = int64_t{64} << 20;
  int64_t max_stream_in_flight = 128;
  int preprocess_threads = 1;  // threads of the pool for large inputs

  // OK or UNAUTHENTICATED (counted in lion_rejected_total).
  absl::Status Authenticate(const grpc::CallbackServerContext& ctx) const;
  // Records one finished call or stream message in lion_requests_total and
  // lion_request_duration_seconds (and lion_rejected_total for invalid input).
  void Record(const std::string& model, const std::string& method, const absl::Status& status,
              TimePoint start) const;
};

class InferenceService final
    : public v1::Inference::WithRawCallbackMethod_Classify<
          v1::Inference::WithRawCallbackMethod_Embed<v1::Inference::WithRawCallbackMethod_FillMask<
              v1::Inference::WithRawCallbackMethod_Tokenize<
                  v1::Inference::WithRawCallbackMethod_ClassifyStream<
                      v1::Inference::WithRawCallbackMethod_EmbedStream<
                          v1::Inference::Service>>>>>> {
 public:
  // Errors: INVALID_ARGUMENT for a context without models, metrics or clock.
  static absl::StatusOr<std::unique_ptr<InferenceService>> Create(const ServiceContext& context);

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

  // Runs one request of Task given as its wire bytes: `reply` is called
  // exactly once, inline or later from a pool, batcher or runner thread, with
  // the response or the error. `model` receives the metric label (the
  // resolved model name; left empty for unknown names, which clients choose
  // freely) before `reply` is called.
  template <typename Task>
  void Start(const grpc::CallbackServerContext& ctx, const grpc::ByteBuffer& bytes,
             std::shared_ptr<std::atomic<bool>> cancelled,
             std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
             std::shared_ptr<std::string> model);

  const ServiceContext& context() const { return ctx_; }

 private:
  InferenceService(const ServiceContext& context, std::unique_ptr<PreprocessPool> pool)
      : ctx_(context), pool_(std::move(pool)) {}

  template <typename Task>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req,
                                  grpc::ByteBuffer* resp);
  // Runs `job` inline, or on the pool when `large`; `fail` answers the call
  // when the pool is full or shuts down first.
  void Preprocess(bool large, std::function<void()> job,
                  std::function<void(absl::Status)> fail);

  const ServiceContext ctx_;
  const std::unique_ptr<PreprocessPool> pool_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_INFERENCE_SERVICE_H_
