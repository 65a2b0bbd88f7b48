// The Open Inference Protocol's REST routes (KServe v2 / Triton).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/api/oip_call.h"
#include "server/api/tasks.h"
#include "server/common/status_macros.h"
#include "server/http/json_util.h"
#include "server/http/oip_json.h"
#include "server/http/routes.h"
#include "server/repository/model_repository.h"

namespace lion::http {
namespace {

using nlohmann::json;

// "/v2/models/{m}" and "/v2/models/{m}/versions/{v}" prefixes: matches[1]
// is the model, matches[3] the version (empty without one).
constexpr const char* kModel = "/v2/models/([^/]+)(/versions/([^/]+))?";

std::string Version(const httplib::Request& req) {
  return req.matches.size() > 3 ? std::string(req.matches[3]) : std::string();
}

absl::StatusOr<repository::ModelRef> FindModel(const httplib::Request& req, RouteCall& call) {
  const std::string name = req.matches[1];
  ASSIGN_OR_RETURN(repository::ModelRef model, call.dispatcher().context().models->Find(name));
  *call.label() = model->description.name;
  RETURN_IF_ERROR(api::CheckVersion(Version(req), name));
  return model;
}

absl::StatusOr<HttpReply> Infer(const httplib::Request& req, const std::string& body,
                                RouteCall& call) {
  call.method = api::InferRowTask::kMethod;
  RETURN_IF_ERROR(FindModel(req, call).status());  // 404 before looking at the body
  std::optional<size_t> header_length;
  if (req.has_header("Inference-Header-Content-Length")) {
    size_t length = 0;
    if (!absl::SimpleAtoi(req.get_header_value("Inference-Header-Content-Length"), &length)) {
      return absl::InvalidArgumentError("Inference-Header-Content-Length: expected a byte count");
    }
    header_length = length;
  }
  ASSIGN_OR_RETURN(OipJsonRequest parsed,
                   ParseInferRequest(body, header_length, req.matches[1], Version(req)));
  auto request = std::make_shared<api::OipRequest>(std::move(parsed.request));
  ASSIGN_OR_RETURN(api::OipResponse response,
                   call.Await<api::OipResponse>([&](api::Reply<api::OipResponse> reply) {
                     api::RunInfer(call.dispatcher(), request, call.options(), std::move(reply),
                                   call.label(), HttpInferParameters());
                   }));
  std::optional<size_t> out_header;
  HttpReply reply = JsonReply(WriteInferResponse(response, parsed, &out_header));
  if (out_header.has_value()) {
    reply.content_type = "application/octet-stream";
    reply.headers.emplace_back("Inference-Header-Content-Length", absl::StrCat(*out_header));
  }
  return reply;
}

absl::StatusOr<HttpReply> ModelReady(const httplib::Request& req, const std::string& body,
                                     RouteCall& call) {
  if (!call.dispatcher().context().Ready()) {
    return absl::UnavailableError("lion-serve is not ready (loading or draining)");
  }
  ASSIGN_OR_RETURN(repository::ModelRef model, FindModel(req, call));
  return JsonReply(json({{"name", model->description.name}, {"ready", true}}).dump());
}

absl::StatusOr<HttpReply> RepositoryIndex(const httplib::Request& req, const std::string& body,
                                          RouteCall& call) {
  bool ready_only = false;
  if (!body.empty()) {
    ASSIGN_OR_RETURN(json parsed, JsonBody(body));
    if (parsed.contains("ready")) {
      if (!parsed["ready"].is_boolean())
        return absl::InvalidArgumentError("ready: expected a boolean");
      ready_only = parsed["ready"].get<bool>();
    }
  }
  json out = json::array();
  for (const repository::ModelStatus& m : call.dispatcher().context().models->Index()) {
    if (ready_only && m.model == nullptr) continue;
    json entry = {{"name", m.name},
                  {"version", api::OipVersion()},
                  {"state", repository::ModelStateName(m.state)}};
    if (!m.reason.empty()) entry["reason"] = m.reason;
    out.push_back(std::move(entry));
  }
  return JsonReply(out.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Load or unload on request (--model_control=explicit).
RouteHandler Control(bool load) {
  return [load](const httplib::Request& req, const std::string& body,
                RouteCall& call) -> absl::StatusOr<HttpReply> {
    repository::ModelRepository* repo = call.dispatcher().context().repository;
    if (repo == nullptr) return absl::UnimplementedError("no model repository control");
    const std::string name = req.matches[1];
    *call.label() = name;
    ASSIGN_OR_RETURN(bool done, call.Await<bool>([&](api::Reply<bool> reply) {
      auto finish = [reply](absl::Status s) { reply(s.ok() ? absl::StatusOr<bool>(true) : s); };
      if (load) {
        repo->Load(name, finish);
      } else {
        repo->Unload(name, finish);
      }
    }));
    (void)done;
    return JsonReply("{}");
  };
}

}  // namespace

std::vector<Route> OipRoutes() {
  const std::string model = kModel;
  return {
      {"GET", "/v2/health/live", "GET /v2/health/live", true,
       [](const httplib::Request&, const std::string&, RouteCall&) -> absl::StatusOr<HttpReply> {
         return JsonReply("{\"live\":true}");
       }},
      {"GET", "/v2/health/ready", "GET /v2/health/ready", true,
       [](const httplib::Request&, const std::string&,
          RouteCall& call) -> absl::StatusOr<HttpReply> {
         const bool ready = call.dispatcher().context().Ready();
         return JsonReply(ready ? "{\"ready\":true}" : "{\"ready\":false}", ready ? 200 : 503);
       }},
      {"GET", "/v2", "GET /v2", false,
       [](const httplib::Request&, const std::string&,
          RouteCall& call) -> absl::StatusOr<HttpReply> {
         json out = {{"name", "lion-serve"},
                     {"version", call.dispatcher().context().version},
                     {"extensions", {"model_repository", "binary_tensor_data"}}};
         return JsonReply(out.dump());
       }},
      {"GET", model, "GET /v2/models/{m}", false,
       [](const httplib::Request& req, const std::string& body,
          RouteCall& call) -> absl::StatusOr<HttpReply> {
         ASSIGN_OR_RETURN(repository::ModelRef m, FindModel(req, call));
         return JsonReply(WriteModelMetadata(api::DescribeForOip(*m)));
       }},
      {"GET", model + "/ready", "GET /v2/models/{m}/ready", true, ModelReady},
      {"POST", model + "/infer", "POST /v2/models/{m}/infer", false, Infer},
      {"POST", "/v2/repository/index", "POST /v2/repository/index", false, RepositoryIndex},
      {"POST", "/v2/repository/models/([^/]+)/load", "POST /v2/repository/models/{m}/load", false,
       Control(true)},
      {"POST", "/v2/repository/models/([^/]+)/unload", "POST /v2/repository/models/{m}/unload",
       false, Control(false)},
  };
}

HttpReply JsonReply(std::string body, int status) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

std::string DefaultTextModel(const api::ServiceContext& context) {
  for (const repository::ModelRef& m : context.models->models()) {
    if (m->tokenizer != nullptr) return m->description.name;
  }
  return "";
}

absl::StatusOr<nlohmann::json> JsonBody(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJson(body, "body"));
  if (!parsed.is_object()) return absl::InvalidArgumentError("body: expected a JSON object");
  return parsed;
}

}  // namespace lion::http
