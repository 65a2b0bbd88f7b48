// OpenAI-style routes: POST /v1/embeddings (and GET /v1/models, which
// OpenAI clients use to list models), so that OpenAI client libraries work
// by changing their base URL. Embeddings are L2-normalised, as OpenAI's are.
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/api/tasks.h"
#include "server/common/quoted.h"
#include "server/common/status_macros.h"
#include "server/http/json_util.h"
#include "server/http/routes.h"

namespace lion::http {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// A list of token ids, or INVALID_ARGUMENT.
absl::Status AddIds(const json& ids, v1::EmbedRequest* r) {
  for (const json& id : ids) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return Invalid("input: token ids must be integers in [0, 2^31)");
    }
    r->mutable_token_ids()->add_ids(static_cast<int32_t>(id.get<int64_t>()));
  }
  return absl::OkStatus();
}

// One EmbedRequest per input: a string, strings, token ids, or lists of ids.
absl::StatusOr<std::vector<std::shared_ptr<v1::EmbedRequest>>> Inputs(const json& input) {
  std::vector<std::shared_ptr<v1::EmbedRequest>> out;
  auto add = [&out] { return out.emplace_back(std::make_shared<v1::EmbedRequest>()).get(); };
  if (input.is_string()) {
    add()->set_text(input.get<std::string>());
    return out;
  }
  if (!input.is_array() || input.empty()) {
    return Invalid("input: expected a string, a list of strings or of token id lists");
  }
  if (input.size() > kMaxInputs) {
    return Invalid(absl::StrCat("input: ", input.size(), " entries, more than ", kMaxInputs));
  }
  if (input[0].is_number()) {  // one list of token ids
    RETURN_IF_ERROR(AddIds(input, add()));
    return out;
  }
  for (const json& item : input) {
    if (item.is_string()) {
      add()->set_text(item.get<std::string>());
    } else if (item.is_array()) {
      RETURN_IF_ERROR(AddIds(item, add()));
    } else {
      return Invalid("input: expected a string, a list of strings or of token id lists");
    }
  }
  return out;
}

absl::StatusOr<HttpReply> Embeddings(const httplib::Request& req, const std::string& raw,
                                     RouteCall& call) {
  call.method = api::EmbedTask::kMethod;
  ASSIGN_OR_RETURN(json body, JsonBody(raw));
  for (const auto& [key, value] : body.items()) {
    if (key != "model" && key != "input" && key != "encoding_format" && key != "dimensions" &&
        key != "user") {
      return Invalid(absl::StrCat("body: unknown field ", Quoted(key),
                                  " (fields: model, input, encoding_format, dimensions, user)"));
    }
  }
  std::string model = DefaultTextModel(call.dispatcher().context()), format = "float";
  if (body.contains("model")) {
    if (!body["model"].is_string()) return Invalid("model: expected a string");
    model = body["model"].get<std::string>();
  }
  if (body.contains("encoding_format")) {
    if (!body["encoding_format"].is_string()) return Invalid("encoding_format: expected a string");
    format = body["encoding_format"].get<std::string>();
  }
  if (format != "float" && format != "base64") {
    return Invalid("encoding_format: expected float or base64");
  }
  if (!body.contains("input")) return Invalid("input: missing");
  ASSIGN_OR_RETURN(auto requests, Inputs(body["input"]));
  for (auto& r : requests) {
    r->set_model(model);
    r->set_normalize(true);
  }
  ASSIGN_OR_RETURN(auto responses, call.RunAll<api::EmbedTask>(std::move(requests)));
  const int64_t hidden = responses.empty() ? 0 : responses[0].embedding_size();
  if (body.contains("dimensions") &&
      (!body["dimensions"].is_number_integer() || body["dimensions"].get<int64_t>() != hidden)) {
    return Invalid(absl::StrCat("dimensions: model ", responses[0].model(), " gives ", hidden,
                                " (it cannot shorten its embeddings)"));
  }
  std::string out = "{\"object\":\"list\",\"data\":[";
  uint64_t tokens = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    const v1::EmbedResponse& r = responses[i];
    tokens += r.usage().input_tokens();
    absl::StrAppend(&out, i > 0 ? "," : "", "{\"object\":\"embedding\",\"index\":", i,
                    ",\"embedding\":");
    if (format == "float") {
      AppendFloatArray(r.embedding().data(), r.embedding_size(), &out);
    } else {
      const absl::string_view raw(reinterpret_cast<const char*>(r.embedding().data()),
                                  r.embedding_size() * sizeof(float));
      absl::StrAppend(&out, "\"", absl::Base64Escape(raw), "\"");
    }
    out += "}";
  }
  absl::StrAppend(&out, "],\"model\":", JsonString(responses[0].model()),
                  ",\"usage\":{\"prompt_tokens\":", tokens, ",\"total_tokens\":", tokens, "}}");
  return JsonReply(std::move(out));
}

absl::StatusOr<HttpReply> Models(const httplib::Request&, const std::string&, RouteCall& call) {
  json data = json::array();
  for (const repository::ModelRef& m : call.dispatcher().context().models->models()) {
    data.push_back({{"id", m->description.name},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "lion-serve"}});
  }
  return JsonReply(json({{"object", "list"}, {"data", data}}).dump());
}

}  // namespace

std::vector<Route> OpenAiRoutes() {
  return {
      {"POST", "/v1/embeddings", "POST /v1/embeddings", false, Embeddings},
      {"GET", "/v1/models", "GET /v1/models", false, Models},
  };
}

}  // namespace lion::http
