// lion.v1.Models: ListModels and GetModel(name) -> ModelInfo. Raw methods,
// like the inference service, so that bad bytes get INVALID_ARGUMENT.
// Thread-safe.
#ifndef LION_SERVER_API_MODELS_SERVICE_H_
#define LION_SERVER_API_MODELS_SERVICE_H_

#include "lion/v1/lion.grpc.pb.h"
#include "server/api/inference_service.h"

namespace lion::api {

// ModelInfo of a served model.
v1::ModelInfo DescribeModel(const ServedModel& model);

class ModelsService final
    : public v1::Models::WithRawCallbackMethod_ListModels<
          v1::Models::WithRawCallbackMethod_GetModel<v1::Models::Service>> {
 public:
  explicit ModelsService(const ServiceContext& context) : ctx_(context) {}

  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* req,
                                       grpc::ByteBuffer* resp) override;
  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx,
                                     const grpc::ByteBuffer* req, grpc::ByteBuffer* resp) override;

 private:
  const ServiceContext ctx_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_MODELS_SERVICE_H_
