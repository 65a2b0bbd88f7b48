// Typed client for lion-serve's gRPC API (lion.v1.Inference, lion.v1.Models
// and grpc.health.v1.Health): deadlines, TLS, API key and retries on
// UNAVAILABLE, with results as absl::StatusOr (gRPC code and message kept).
//
//   ASSIGN_OR_RETURN(auto client, LionClient::Create({.address = "127.0.0.1:50051"}));
//   lion::v1::EmbedRequest request;
//   request.set_text("a sentence");
//   ASSIGN_OR_RETURN(lion::v1::EmbedResponse response, client->Embed(request));
#ifndef LION_CLIENT_LION_CLIENT_H_
#define LION_CLIENT_LION_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/bidi_stream.h"
#include "client/client_options.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lion/v1/lion.grpc.pb.h"

namespace lion::client {

struct CallOptions {
  std::optional<std::chrono::milliseconds> deadline;  // overrides ClientOptions::deadline
};

using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;
using ClassifyStream = BidiStream<lion::v1::ClassifyRequest, lion::v1::ClassifyResponse>;
using EmbedStream = BidiStream<lion::v1::EmbedRequest, lion::v1::EmbedResponse>;

// Thread-safe: calls may run concurrently from any threads. Not copyable.
class LionClient {
 public:
  // Errors: those of MakeChannel. Connecting is lazy: an unreachable server
  // shows as UNAVAILABLE on the first call.
  static absl::StatusOr<std::unique_ptr<LionClient>> Create(const ClientOptions& options);
  // Uses `channel` (e.g. an in-process one) instead of options.address/tls.
  static absl::StatusOr<std::unique_ptr<LionClient>> CreateWithChannel(
      const ClientOptions& options, std::shared_ptr<grpc::Channel> channel);

  LionClient(const LionClient&) = delete;
  LionClient& operator=(const LionClient&) = delete;

  // Unary calls: the deadline covers every attempt and backoff together.
  absl::StatusOr<v1::ClassifyResponse> Classify(const v1::ClassifyRequest& request,
                                                const CallOptions& call = {});
  absl::StatusOr<v1::EmbedResponse> Embed(const v1::EmbedRequest& request,
                                          const CallOptions& call = {});
  absl::StatusOr<v1::FillMaskResponse> FillMask(const v1::FillMaskRequest& request,
                                                const CallOptions& call = {});
  absl::StatusOr<v1::TokenizeResponse> Tokenize(const v1::TokenizeRequest& request,
                                                const CallOptions& call = {});
  absl::StatusOr<v1::ListModelsResponse> ListModels(const CallOptions& call = {});
  absl::StatusOr<v1::ModelInfo> GetModel(const std::string& name, const CallOptions& call = {});
  // grpc.health.v1 Check for `service` ("" = the whole server).
  absl::StatusOr<HealthStatus> Health(const std::string& service, const CallOptions& call = {});

  // Bidirectional streams; the deadline covers the whole stream.
  std::unique_ptr<ClassifyStream> StartClassifyStream(const CallOptions& call = {});
  std::unique_ptr<EmbedStream> StartEmbedStream(const CallOptions& call = {});

  // For callers that drive the generated async API themselves (the bench):
  // the stub, and a context set up with the deadline and API key.
  v1::Inference::Stub* inference_stub() { return inference_.get(); }
  std::unique_ptr<grpc::ClientContext> MakeContext(const CallOptions& call = {}) const;
  const ClientOptions& options() const { return options_; }

 private:
  LionClient(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel);

  // Runs `rpc` with retries; `rpc` fills the response it is given.
  template <typename Response>
  absl::StatusOr<Response> Unary(
      const CallOptions& call,
      const std::function<grpc::Status(grpc::ClientContext*, Response*)>& rpc);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> inference_;
  std::unique_ptr<v1::Models::Stub> models_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace lion::client

#endif  // LION_CLIENT_LION_CLIENT_H_
