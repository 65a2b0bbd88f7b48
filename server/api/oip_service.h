// inference.GRPCInferenceService, the Open Inference Protocol (KServe v2 /
// Triton) over gRPC: health, metadata, ModelInfer through the same
// Dispatcher and batchers as lion.v1 (oip_call.h), and the model repository
// extension (index; load and unload with --model_control=explicit). Raw
// (ByteBuffer) methods as in inference_service.h: unparsable bytes are
// INVALID_ARGUMENT, names are checked against their limits before parsing,
// and every call enters the drain gate and authenticates, except the probes
// ServerLive, ServerReady and ModelReady (open, like grpc.health.v1).
// Thread-safe; handlers never block. The Dispatcher must outlive it.
#ifndef LION_SERVER_API_OIP_SERVICE_H_
#define LION_SERVER_API_OIP_SERVICE_H_

#include <string>

#include "inference/grpc_predict_v2.grpc.pb.h"
#include "server/api/dispatcher.h"

namespace lion::api {

namespace oip = ::inference;

class OipService final
    : public oip::GRPCInferenceService::WithRawCallbackMethod_ServerLive<
          oip::GRPCInferenceService::WithRawCallbackMethod_ServerReady<
              oip::GRPCInferenceService::WithRawCallbackMethod_ModelReady<
                  oip::GRPCInferenceService::WithRawCallbackMethod_ServerMetadata<
                      oip::GRPCInferenceService::WithRawCallbackMethod_ModelMetadata<
                          oip::GRPCInferenceService::WithRawCallbackMethod_ModelInfer<
                              oip::GRPCInferenceService::WithRawCallbackMethod_RepositoryIndex<
                                  oip::GRPCInferenceService::
                                      WithRawCallbackMethod_RepositoryModelLoad<
                                          oip::GRPCInferenceService::
                                              WithRawCallbackMethod_RepositoryModelUnload<
                                                  oip::GRPCInferenceService::Service>>>>>>>>> {
 public:
  // `version`: what ServerMetadata reports.
  OipService(Dispatcher* dispatcher, std::string version)
      : dispatcher_(dispatcher), version_(std::move(version)) {}

  using Raw = grpc::ByteBuffer;
  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx, const Raw* req,
                                       Raw* resp) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx, const Raw* req,
                                        Raw* resp) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx, const Raw* req,
                                       Raw* resp) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx, const Raw* req,
                                           Raw* resp) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx, const Raw* req,
                                          Raw* resp) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx, const Raw* req,
                                       Raw* resp) override;
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx, const Raw* req,
                                            Raw* resp) override;
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx, const Raw* req,
                                                Raw* resp) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(grpc::CallbackServerContext* ctx, const Raw* req,
                                                  Raw* resp) override;

 private:
  // Gate, authentication and parsing of a call answered by `respond` (given
  // the parsed request), which calls `finish` exactly once, inline or later.
  template <typename Req, typename Resp>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, const Raw* in, Raw* out,
                                   const char* method,
                                   std::function<void(std::shared_ptr<Req>, const CallOptions&,
                                                      std::shared_ptr<std::string>, Reply<Resp>)>
                                       respond);

  Dispatcher* const dispatcher_;
  const std::string version_;
};

// The extensions ServerMetadata lists.
inline constexpr const char* kOipExtensions[] = {"model_repository"};

}  // namespace lion::api

#endif  // LION_SERVER_API_OIP_SERVICE_H_
