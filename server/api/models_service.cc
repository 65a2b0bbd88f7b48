#include "server/api/models_service.h"

#include "server/api/status_mapping.h"
#include "server/common/status_macros.h"

namespace lion::api {

v1::ModelInfo DescribeModel(const repository::ServedModel& model) {
  const runtime::ModelDescription& d = model.description;
  v1::ModelInfo info;
  info.set_name(d.name);
  info.set_task(model::TaskName(d.task));
  info.set_architecture(model::ArchitectureName(d.architecture));
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

namespace {

// Parses, answers with `respond` and finishes a raw unary call at once.
template <typename Req, typename Resp>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, const ServiceContext& sc,
                                 const grpc::ByteBuffer* in, grpc::ByteBuffer* out,
                                 const std::function<absl::Status(const Req&, Resp*)>& respond) {
  auto run = [&]() -> absl::Status {
    RETURN_IF_ERROR(sc.Authenticate(*ctx));
    Req req;
    RETURN_IF_ERROR(ParseRequest(*in, sc.wire, &req));
    Resp resp;
    RETURN_IF_ERROR(respond(req, &resp));
    return SerializeResponse(resp, sc.max_message_bytes, out);
  };
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(run()));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ModelsService::ListModels(grpc::CallbackServerContext* ctx,
                                                    const grpc::ByteBuffer* req,
                                                    grpc::ByteBuffer* resp) {
  return Answer<v1::ListModelsRequest, v1::ListModelsResponse>(
      ctx, ctx_, req, resp, [this](const v1::ListModelsRequest&, v1::ListModelsResponse* out) {
        for (const auto& m : ctx_.models->models()) *out->add_models() = DescribeModel(*m);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ModelsService::GetModel(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
  return Answer<v1::GetModelRequest, v1::ModelInfo>(
      ctx, ctx_, req, resp, [this](const v1::GetModelRequest& in, v1::ModelInfo* out) {
        ASSIGN_OR_RETURN(repository::ModelRef model, ctx_.models->Find(in.name()));
        *out = DescribeModel(*model);
        return absl::OkStatus();
      });
}

}  // namespace lion::api
