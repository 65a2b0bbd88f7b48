#include "server/api/models_service.h"

#include "server/api/status_mapping.h"
#include "server/common/status_macros.h"

namespace lion::api {

v1::ModelInfo DescribeModel(const ServedModel& model) {
  const runtime::ModelDescription& d = model.description;
  v1::ModelInfo info;
  info.set_name(d.name);
  info.set_task(d.task == runtime::Task::kMlm ? "mlm" : "classification");
  info.set_architecture(d.architecture);
  info.set_variant(d.variant);
  info.set_hidden_size(static_cast<uint32_t>(d.hidden_size));
  info.set_num_layers(static_cast<uint32_t>(d.num_layers));
  info.set_num_heads(static_cast<uint32_t>(d.num_heads));
  info.set_vocab_size(static_cast<uint32_t>(d.vocab_size));
  for (const std::string& label : d.labels) info.add_labels(label);
  info.set_max_input_tokens(static_cast<uint64_t>(d.max_input_tokens));
  info.set_image_size(static_cast<uint32_t>(d.image_size));
  info.set_device(d.device);
  info.set_dtype(d.dtype);
  info.set_order(d.order);
  info.set_description(d.description);
  v1::FormPolicy* policy = info.mutable_form_policy();
  policy->set_full_max_tokens(static_cast<uint32_t>(model.limits.full_max_tokens));
  policy->set_chunk_size(static_cast<uint32_t>(model.limits.chunk_size));
  policy->set_rnn_min_tokens(static_cast<uint64_t>(model.limits.rnn_min_tokens));
  policy->set_memory_budget_bytes(static_cast<uint64_t>(model.limits.memory_budget_bytes));
  return info;
}

grpc::ServerUnaryReactor* ModelsService::ListModels(grpc::CallbackServerContext* ctx,
                                                    const v1::ListModelsRequest* req,
                                                    v1::ListModelsResponse* resp) {
  absl::Status status = ctx_.Authenticate(*ctx);
  if (status.ok()) {
    for (const auto& m : ctx_.models->models()) *resp->add_models() = DescribeModel(*m);
  }
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* ModelsService::GetModel(grpc::CallbackServerContext* ctx,
                                                  const v1::GetModelRequest* req,
                                                  v1::ModelInfo* resp) {
  auto run = [&]() -> absl::Status {
    RETURN_IF_ERROR(ctx_.Authenticate(*ctx));
    ASSIGN_OR_RETURN(const ServedModel* model, ctx_.models->Find(req->name()));
    *resp = DescribeModel(*model);
    return absl::OkStatus();
  };
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(run()));
  return reactor;
}

}  // namespace lion::api
