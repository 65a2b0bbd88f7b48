#include "server/api/oip_service.h"

#include "absl/strings/str_cat.h"
#include "server/api/grpc_call.h"
#include "server/api/oip_call.h"
#include "server/api/oip_proto.h"
#include "server/api/status_mapping.h"
#include "server/repository/model_repository.h"

namespace lion::api {
namespace {

using ModelRef = repository::ModelRef;

void FillMetadata(const OipModelMeta& meta, oip::ModelMetadataResponse* out) {
  out->set_name(meta.name);
  out->add_versions(OipVersion());
  out->set_platform("lion-serve");
  auto add = [](const OipTensorMeta& t, oip::ModelMetadataResponse::TensorMetadata* m) {
    m->set_name(t.name);
    m->set_datatype(t.datatype);
    m->mutable_shape()->Assign(t.shape.begin(), t.shape.end());
  };
  for (const OipTensorMeta& t : meta.inputs) add(t, out->add_inputs());
  for (const OipTensorMeta& t : meta.outputs) add(t, out->add_outputs());
}

}  // namespace

template <typename Req, typename Resp>
grpc::ServerUnaryReactor* OipService::Answer(
    grpc::CallbackServerContext* ctx, const Raw* in, Raw* out, const char* method,
    std::function<void(std::shared_ptr<Req>, const CallOptions&, std::shared_ptr<std::string>,
                       Reply<Resp>)>
        respond) {
  auto* call = new UnaryCall();
  const ServiceContext& sc = dispatcher_->context();
  const TimePoint start = sc.clock->Now();
  auto label = std::make_shared<std::string>();
  const bool infer = std::string(method) == "ModelInfer";
  Reply<Resp> finish = [&sc, call, out, start, label, method, infer](absl::StatusOr<Resp> r) {
    absl::Status status = r.status();
    if (status.ok()) status = SerializeResponse(*r, sc.max_message_bytes, out);
    if (infer) sc.Record(*label, method, status, start);
    sc.RecordFront("grpc", absl::StrCat("inference.GRPCInferenceService/", method), status, start);
    call->Finish(ToGrpcStatus(status));
  };
  absl::StatusOr<std::shared_ptr<DrainGate::Pass>> pass = dispatcher_->Enter();
  if (!pass.ok()) {
    finish(pass.status());
    return call;
  }
  if (*pass != nullptr) {
    finish = [finish, pass = *std::move(pass)](absl::StatusOr<Resp> r) { finish(std::move(r)); };
  }
  auto req = std::make_shared<Req>();
  // Liveness and readiness are probes: open, like grpc.health.v1.
  const std::string name = method;
  const bool probe = name == "ServerLive" || name == "ServerReady" || name == "ModelReady";
  absl::Status s = probe ? absl::OkStatus() : sc.Authenticate(*ctx);
  if (s.ok()) s = ParseRequest(*in, sc.wire, req.get());
  if (!s.ok()) {
    finish(s);
    return call;
  }
  CallOptions options;
  options.deadline = DeadlineOf(*ctx, *sc.clock);
  options.cancelled = call->cancelled;
  respond(std::move(req), options, label, std::move(finish));
  return call;
}

grpc::ServerUnaryReactor* OipService::ServerLive(grpc::CallbackServerContext* ctx, const Raw* req,
                                                 Raw* resp) {
  return Answer<oip::ServerLiveRequest, oip::ServerLiveResponse>(
      ctx, req, resp, "ServerLive", [](auto, const CallOptions&, auto, auto finish) {
        oip::ServerLiveResponse out;
        out.set_live(true);
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::ServerReady(grpc::CallbackServerContext* ctx, const Raw* req,
                                                  Raw* resp) {
  return Answer<oip::ServerReadyRequest, oip::ServerReadyResponse>(
      ctx, req, resp, "ServerReady", [this](auto, const CallOptions&, auto, auto finish) {
        oip::ServerReadyResponse out;
        out.set_ready(dispatcher_->context().Ready());
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::ModelReady(grpc::CallbackServerContext* ctx, const Raw* req,
                                                 Raw* resp) {
  return Answer<oip::ModelReadyRequest, oip::ModelReadyResponse>(
      ctx, req, resp, "ModelReady",
      [this](std::shared_ptr<oip::ModelReadyRequest> in, const CallOptions&, auto, auto finish) {
        const ServiceContext& sc = dispatcher_->context();
        oip::ModelReadyResponse out;
        out.set_ready(!in->name().empty() && sc.Ready() && sc.models->Find(in->name()).ok() &&
                      CheckVersion(in->version(), in->name()).ok());
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::ServerMetadata(grpc::CallbackServerContext* ctx,
                                                     const Raw* req, Raw* resp) {
  return Answer<oip::ServerMetadataRequest, oip::ServerMetadataResponse>(
      ctx, req, resp, "ServerMetadata", [this](auto, const CallOptions&, auto, auto finish) {
        oip::ServerMetadataResponse out;
        out.set_name("lion-serve");
        out.set_version(version_);
        for (const char* e : kOipExtensions) out.add_extensions(e);
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::ModelMetadata(grpc::CallbackServerContext* ctx,
                                                    const Raw* req, Raw* resp) {
  return Answer<oip::ModelMetadataRequest, oip::ModelMetadataResponse>(
      ctx, req, resp, "ModelMetadata",
      [this](std::shared_ptr<oip::ModelMetadataRequest> in, const CallOptions&, auto label,
             auto finish) {
        absl::StatusOr<ModelRef> model = dispatcher_->context().models->Find(in->name());
        if (!model.ok()) return finish(model.status());
        *label = (*model)->description.name;
        if (absl::Status s = CheckVersion(in->version(), in->name()); !s.ok()) return finish(s);
        oip::ModelMetadataResponse out;
        FillMetadata(DescribeForOip(**model), &out);
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::ModelInfer(grpc::CallbackServerContext* ctx, const Raw* req,
                                                 Raw* resp) {
  return Answer<oip::ModelInferRequest, oip::ModelInferResponse>(
      ctx, req, resp, "ModelInfer",
      [this](std::shared_ptr<oip::ModelInferRequest> in, const CallOptions& call, auto label,
             Reply<oip::ModelInferResponse> finish) {
        const bool raw = in->raw_input_contents_size() > 0;
        absl::StatusOr<OipRequest> request = FromProto(*in);
        in.reset();
        if (!request.ok()) return finish(request.status());
        RunInfer(*dispatcher_, std::make_shared<OipRequest>(*std::move(request)), call,
                 [finish, raw](absl::StatusOr<OipResponse> r) {
                   if (!r.ok()) return finish(r.status());
                   oip::ModelInferResponse out;
                   ToProto(*std::move(r), raw, &out);
                   finish(std::move(out));
                 },
                 label, {});
      });
}

grpc::ServerUnaryReactor* OipService::RepositoryIndex(grpc::CallbackServerContext* ctx,
                                                      const Raw* req, Raw* resp) {
  return Answer<oip::RepositoryIndexRequest, oip::RepositoryIndexResponse>(
      ctx, req, resp, "RepositoryIndex",
      [this](std::shared_ptr<oip::RepositoryIndexRequest> in, const CallOptions&, auto,
             auto finish) {
        oip::RepositoryIndexResponse out;
        for (const repository::ModelStatus& m : dispatcher_->context().models->Index()) {
          if (in->ready() && m.model == nullptr) continue;
          auto* entry = out.add_models();
          entry->set_name(m.name);
          entry->set_version(OipVersion());
          entry->set_state(repository::ModelStateName(m.state));
          entry->set_reason(m.reason);
        }
        finish(out);
      });
}

grpc::ServerUnaryReactor* OipService::RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                          const Raw* req, Raw* resp) {
  return Answer<oip::RepositoryModelLoadRequest, oip::RepositoryModelLoadResponse>(
      ctx, req, resp, "RepositoryModelLoad",
      [this](std::shared_ptr<oip::RepositoryModelLoadRequest> in, const CallOptions&, auto label,
             Reply<oip::RepositoryModelLoadResponse> finish) {
        repository::ModelRepository* repo = dispatcher_->context().repository;
        if (repo == nullptr) return finish(absl::UnimplementedError("no model repository control"));
        if (in->parameters_size() > 0) {
          return finish(absl::InvalidArgumentError("parameters: load takes none"));
        }
        *label = in->model_name();
        repo->Load(in->model_name(), [finish](absl::Status s) {
          if (!s.ok()) return finish(s);
          finish(oip::RepositoryModelLoadResponse());
        });
      });
}

grpc::ServerUnaryReactor* OipService::RepositoryModelUnload(grpc::CallbackServerContext* ctx,
                                                            const Raw* req, Raw* resp) {
  return Answer<oip::RepositoryModelUnloadRequest, oip::RepositoryModelUnloadResponse>(
      ctx, req, resp, "RepositoryModelUnload",
      [this](std::shared_ptr<oip::RepositoryModelUnloadRequest> in, const CallOptions&, auto,
             Reply<oip::RepositoryModelUnloadResponse> finish) {
        repository::ModelRepository* repo = dispatcher_->context().repository;
        if (repo == nullptr) return finish(absl::UnimplementedError("no model repository control"));
        // tritonclient sends unload_dependents; there are none to unload.
        for (const auto& [name, value] : in->parameters()) {
          if (name != "unload_dependents") {
            return finish(absl::InvalidArgumentError(
                absl::StrCat("parameters: unknown parameter ", Quoted(name))));
          }
        }
        repo->Unload(in->model_name(), [finish](absl::Status s) {
          if (!s.ok()) return finish(s);
          finish(oip::RepositoryModelUnloadResponse());
        });
      });
}

}  // namespace lion::api
