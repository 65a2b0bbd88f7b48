// lion.v1.Inference on gRPC's callback API. Handlers run on gRPC's threads:
// they authenticate, validate, tokenize/decode and enqueue, then return; the
// runner thread completes each call. They never block and never touch
// LibTorch. Thread-safe. Everything passed in must outlive the gRPC server.
#ifndef LION_SERVER_API_INFERENCE_SERVICE_H_
#define LION_SERVER_API_INFERENCE_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lion/v1/lion.grpc.pb.h"
#include "server/api/api_keys.h"
#include "server/api/served_model.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"

namespace lion::api {

// What the services share: models, credentials (null = open), metrics, time.
struct ServiceContext {
  const ModelRegistry* models = nullptr;
  const ApiKeys* keys = nullptr;
  metrics::Metrics* metrics = nullptr;
  Clock* clock = nullptr;

  // OK or UNAUTHENTICATED (counted in lion_rejected_total).
  absl::Status Authenticate(const grpc::CallbackServerContext& ctx) const;
  // Records one finished call or stream message in lion_requests_total and
  // lion_request_duration_seconds (and lion_rejected_total for invalid input).
  void Record(const std::string& model, const std::string& method, const absl::Status& status,
              TimePoint start) const;
};

class InferenceService final : public v1::Inference::CallbackService {
 public:
  explicit InferenceService(const ServiceContext& context) : ctx_(context) {}

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* ctx,
                                     const v1::ClassifyRequest* req,
                                     v1::ClassifyResponse* resp) override;
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* ctx, const v1::EmbedRequest* req,
                                  v1::EmbedResponse* resp) override;
  grpc::ServerUnaryReactor* FillMask(grpc::CallbackServerContext* ctx,
                                     const v1::FillMaskRequest* req,
                                     v1::FillMaskResponse* resp) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* ctx,
                                     const v1::TokenizeRequest* req,
                                     v1::TokenizeResponse* resp) override;
  grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse>* ClassifyStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* EmbedStream(
      grpc::CallbackServerContext* ctx) override;

  // Admits one request of Task: on OK, `reply` is called exactly once later
  // (from the batcher or runner thread) with the response or the error; on
  // error it is not called. `model` receives the metric label: the resolved
  // model name (left empty for unknown names, which clients choose freely).
  template <typename Task>
  absl::Status Submit(const grpc::CallbackServerContext& ctx, const typename Task::Req& req,
                      std::shared_ptr<std::atomic<bool>> cancelled,
                      std::function<void(absl::StatusOr<typename Task::Resp>)> reply,
                      std::string* model);

  const ServiceContext& context() const { return ctx_; }

 private:
  template <typename Task>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const typename Task::Req* req,
                                  typename Task::Resp* resp);

  const ServiceContext ctx_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_INFERENCE_SERVICE_H_
