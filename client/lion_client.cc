#include "client/lion_client.h"

#include <thread>

#include "client/grpc_status.h"
#include "server/common/status_macros.h"

namespace lion::client {

absl::StatusOr<std::unique_ptr<LionClient>> LionClient::Create(const ClientOptions& options) {
  ASSIGN_OR_RETURN(auto channel, MakeChannel(options));
  return std::unique_ptr<LionClient>(new LionClient(options, std::move(channel)));
}

absl::StatusOr<std::unique_ptr<LionClient>> LionClient::CreateWithChannel(
    const ClientOptions& options, std::shared_ptr<grpc::Channel> channel) {
  RETURN_IF_ERROR(options.Validate());
  if (channel == nullptr) return absl::InvalidArgumentError("client: channel is null");
  return std::unique_ptr<LionClient>(new LionClient(options, std::move(channel)));
}

LionClient::LionClient(const ClientOptions& options, std::shared_ptr<grpc::Channel> channel)
    : options_(options),
      channel_(std::move(channel)),
      inference_(v1::Inference::NewStub(channel_)),
      models_(v1::Models::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

std::unique_ptr<grpc::ClientContext> LionClient::MakeContext(const CallOptions& call) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        call.deadline.value_or(options_.deadline));
  if (!options_.api_key.empty())
    context->AddMetadata("authorization", "Bearer " + options_.api_key);
  return context;
}

template <typename Response>
absl::StatusOr<Response> LionClient::Unary(
    const CallOptions& call,
    const std::function<grpc::Status(grpc::ClientContext*, Response*)>& rpc) {
  const Clock& clock = *Clock::Real();
  const TimePoint deadline = clock.Now() + call.deadline.value_or(options_.deadline);
  Response response;
  const absl::Status status = RunWithRetry(
      options_.retry, deadline, clock, [](Duration d) { std::this_thread::sleep_for(d); },
      [&]() {
        // Each attempt gets what is left of the call's deadline.
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
        auto context = MakeContext({.deadline = std::max(left, std::chrono::milliseconds(1))});
        response.Clear();
        return ToAbslStatus(rpc(context.get(), &response));
      });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::ClassifyResponse> LionClient::Classify(const v1::ClassifyRequest& request,
                                                          const CallOptions& call) {
  return Unary<v1::ClassifyResponse>(call, [&](grpc::ClientContext* c, v1::ClassifyResponse* r) {
    return inference_->Classify(c, request, r);
  });
}

absl::StatusOr<v1::EmbedResponse> LionClient::Embed(const v1::EmbedRequest& request,
                                                    const CallOptions& call) {
  return Unary<v1::EmbedResponse>(call, [&](grpc::ClientContext* c, v1::EmbedResponse* r) {
    return inference_->Embed(c, request, r);
  });
}

absl::StatusOr<v1::FillMaskResponse> LionClient::FillMask(const v1::FillMaskRequest& request,
                                                          const CallOptions& call) {
  return Unary<v1::FillMaskResponse>(call, [&](grpc::ClientContext* c, v1::FillMaskResponse* r) {
    return inference_->FillMask(c, request, r);
  });
}

absl::StatusOr<v1::TokenizeResponse> LionClient::Tokenize(const v1::TokenizeRequest& request,
                                                          const CallOptions& call) {
  return Unary<v1::TokenizeResponse>(call, [&](grpc::ClientContext* c, v1::TokenizeResponse* r) {
    return inference_->Tokenize(c, request, r);
  });
}

absl::StatusOr<v1::ListModelsResponse> LionClient::ListModels(const CallOptions& call) {
  const v1::ListModelsRequest request;
  return Unary<v1::ListModelsResponse>(call,
                                       [&](grpc::ClientContext* c, v1::ListModelsResponse* r) {
                                         return models_->ListModels(c, request, r);
                                       });
}

absl::StatusOr<v1::ModelInfo> LionClient::GetModel(const std::string& name,
                                                   const CallOptions& call) {
  v1::GetModelRequest request;
  request.set_name(name);
  return Unary<v1::ModelInfo>(call, [&](grpc::ClientContext* c, v1::ModelInfo* r) {
    return models_->GetModel(c, request, r);
  });
}

absl::StatusOr<HealthStatus> LionClient::Health(const std::string& service,
                                                const CallOptions& call) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  ASSIGN_OR_RETURN(auto response,
                   Unary<grpc::health::v1::HealthCheckResponse>(
                       call, [&](grpc::ClientContext* c, grpc::health::v1::HealthCheckResponse* r) {
                         return health_->Check(c, request, r);
                       }));
  return response.status();
}

std::unique_ptr<ClassifyStream> LionClient::StartClassifyStream(const CallOptions& call) {
  return std::make_unique<ClassifyStream>(
      MakeContext(call), [this](grpc::ClientContext* c) { return inference_->ClassifyStream(c); });
}

std::unique_ptr<EmbedStream> LionClient::StartEmbedStream(const CallOptions& call) {
  return std::make_unique<EmbedStream>(
      MakeContext(call), [this](grpc::ClientContext* c) { return inference_->EmbedStream(c); });
}

}  // namespace lion::client
