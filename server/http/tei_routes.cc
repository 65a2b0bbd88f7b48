// TEI-style routes (Hugging Face text-embeddings-inference's shapes): /embed,
// /predict, /tokenize, /info, /health. TEI serves one model; here a request
// may name one with "model" (/info: ?model=); the default is the first text
// model by name.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/tasks.h"
#include "server/common/quoted.h"
#include "server/common/status_macros.h"
#include "server/http/json_util.h"
#include "server/http/routes.h"

namespace lion::http {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// Every key of `body` is one of `known`.
absl::Status OnlyKeys(const json& body, const std::vector<std::string>& known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Invalid(absl::StrCat("body: unknown field ", Quoted(key),
                                  " (fields: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> BoolField(const json& body, const char* key, bool fallback) {
  if (!body.contains(key)) return fallback;
  if (!body[key].is_boolean()) return Invalid(absl::StrCat(key, ": expected true or false"));
  return body[key].get<bool>();
}

absl::StatusOr<std::string> ModelField(const json& body, const RouteCall& call) {
  if (!body.contains("model")) return DefaultTextModel(call.dispatcher().context());
  if (!body["model"].is_string()) return Invalid("model: expected a string");
  return body["model"].get<std::string>();
}

// `inputs` as a list of texts; `single` tells whether it was one string.
absl::StatusOr<std::vector<std::string>> Texts(const json& body, bool* single) {
  if (!body.contains("inputs")) return Invalid("inputs: missing (a string or a list of strings)");
  const json& inputs = body["inputs"];
  *single = inputs.is_string();
  if (*single) return std::vector<std::string>{inputs.get<std::string>()};
  if (!inputs.is_array()) return Invalid("inputs: expected a string or a list of strings");
  if (inputs.empty()) return Invalid("inputs: empty list");
  if (inputs.size() > kMaxInputs) {
    return Invalid(absl::StrCat("inputs: ", inputs.size(), " texts, more than ", kMaxInputs));
  }
  std::vector<std::string> texts;
  for (const json& t : inputs) {
    if (!t.is_string()) return Invalid("inputs: expected a string or a list of strings");
    texts.push_back(t.get<std::string>());
  }
  return texts;
}

// One lion.v1 request per text, with the shared fields set.
template <typename Req>
std::vector<std::shared_ptr<Req>> Requests(const std::vector<std::string>& texts,
                                           const std::string& model, bool truncate) {
  std::vector<std::shared_ptr<Req>> out;
  for (const std::string& text : texts) {
    auto r = std::make_shared<Req>();
    r->set_model(model);
    r->set_text(text);
    r->set_truncation(truncate ? v1::TRUNCATION_RIGHT : v1::TRUNCATION_NONE);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<HttpReply> Embed(const httplib::Request& req, const std::string& raw,
                                RouteCall& call) {
  call.method = api::EmbedTask::kMethod;
  ASSIGN_OR_RETURN(json body, JsonBody(raw));
  RETURN_IF_ERROR(OnlyKeys(body, {"inputs", "normalize", "truncate", "model"}));
  bool single = false;
  ASSIGN_OR_RETURN(std::vector<std::string> texts, Texts(body, &single));
  ASSIGN_OR_RETURN(bool normalize, BoolField(body, "normalize", true));
  ASSIGN_OR_RETURN(bool truncate, BoolField(body, "truncate", false));
  ASSIGN_OR_RETURN(std::string model, ModelField(body, call));
  auto requests = Requests<v1::EmbedRequest>(texts, model, truncate);
  for (auto& r : requests) r->set_normalize(normalize);
  ASSIGN_OR_RETURN(auto responses, call.RunAll<api::EmbedTask>(std::move(requests)));
  std::string out = "[";
  for (size_t i = 0; i < responses.size(); ++i) {
    if (i > 0) out += ",";
    AppendFloatArray(responses[i].embedding().data(), responses[i].embedding_size(), &out);
  }
  out += "]";
  return JsonReply(std::move(out));
}

absl::StatusOr<HttpReply> Predict(const httplib::Request& req, const std::string& raw,
                                  RouteCall& call) {
  call.method = api::ClassifyTask::kMethod;
  ASSIGN_OR_RETURN(json body, JsonBody(raw));
  RETURN_IF_ERROR(OnlyKeys(body, {"inputs", "raw_scores", "truncate", "model"}));
  bool single = false;
  ASSIGN_OR_RETURN(std::vector<std::string> texts, Texts(body, &single));
  ASSIGN_OR_RETURN(bool raw_scores, BoolField(body, "raw_scores", false));
  ASSIGN_OR_RETURN(bool truncate, BoolField(body, "truncate", false));
  ASSIGN_OR_RETURN(std::string model, ModelField(body, call));
  auto requests = Requests<v1::ClassifyRequest>(texts, model, truncate);
  for (auto& r : requests) r->set_raw_scores(raw_scores);
  ASSIGN_OR_RETURN(auto responses, call.RunAll<api::ClassifyTask>(std::move(requests)));
  json out = json::array();
  for (const v1::ClassifyResponse& r : responses) {
    json scores = json::array();
    for (const v1::Prediction& p : r.predictions()) {
      scores.push_back({{"score", p.score()}, {"label", p.label()}});
    }
    out.push_back(std::move(scores));
  }
  return JsonReply((single ? out[0] : out).dump(-1, ' ', false, json::error_handler_t::replace));
}

absl::StatusOr<HttpReply> Tokenize(const httplib::Request& req, const std::string& raw,
                                   RouteCall& call) {
  call.method = api::TokenizeTask::kMethod;
  ASSIGN_OR_RETURN(json body, JsonBody(raw));
  RETURN_IF_ERROR(OnlyKeys(body, {"inputs", "add_special_tokens", "model"}));
  bool single = false;
  ASSIGN_OR_RETURN(std::vector<std::string> texts, Texts(body, &single));
  ASSIGN_OR_RETURN(bool special, BoolField(body, "add_special_tokens", true));
  ASSIGN_OR_RETURN(std::string model, ModelField(body, call));
  std::vector<std::shared_ptr<v1::TokenizeRequest>> requests;
  for (const std::string& text : texts) {
    auto r = std::make_shared<v1::TokenizeRequest>();
    r->set_model(model);
    r->set_text(text);
    r->set_add_special_tokens(special);
    requests.push_back(std::move(r));
  }
  ASSIGN_OR_RETURN(auto responses, call.RunAll<api::TokenizeTask>(std::move(requests)));
  json out = json::array();
  for (size_t i = 0; i < responses.size(); ++i) {
    const v1::TokenizeResponse& r = responses[i];
    json tokens = json::array();
    for (int t = 0; t < r.ids_size(); ++t) {
      const uint32_t start = r.offsets(t).start(), stop = r.offsets(t).end();
      // As TEI: a token the tokenizer added has no span and keeps its own
      // text; the others carry the slice of the input they cover.
      if (start == stop) {
        tokens.push_back({{"id", r.ids(t)},
                          {"text", r.tokens(t)},
                          {"special", true},
                          {"start", nullptr},
                          {"stop", nullptr}});
      } else {
        tokens.push_back({{"id", r.ids(t)},
                          {"text", texts[i].substr(start, stop - start)},
                          {"special", false},
                          {"start", start},
                          {"stop", stop}});
      }
    }
    out.push_back(std::move(tokens));
  }
  return JsonReply(out.dump(-1, ' ', false, json::error_handler_t::replace));
}

absl::StatusOr<HttpReply> Info(const httplib::Request& req, const std::string& raw,
                               RouteCall& call) {
  const api::ServiceContext& sc = call.dispatcher().context();
  const std::string name =
      req.has_param("model") ? req.get_param_value("model") : DefaultTextModel(sc);
  ASSIGN_OR_RETURN(repository::ModelRef m, sc.models->Find(name));
  const runtime::ModelDescription& d = m->description;
  json type;
  if (d.task == runtime::Task::kClassification) {
    json id2label = json::object(), label2id = json::object();
    for (size_t i = 0; i < d.labels.size(); ++i) {
      id2label[std::to_string(i)] = d.labels[i];
      label2id[d.labels[i]] = i;
    }
    type = {{"classifier", {{"id2label", id2label}, {"label2id", label2id}}}};
  } else {
    type = {{"embedding", {{"pooling", d.pooling.empty() ? "mean" : d.pooling}}}};
  }
  json out = {{"model_id", d.name},
              {"model_sha", nullptr},
              {"model_dtype", d.dtype},
              {"model_type", type},
              {"max_input_length", m->max_input_tokens},
              {"max_client_batch_size", kMaxInputs},
              {"version", sc.version}};
  return JsonReply(out.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

std::vector<Route> TeiRoutes() {
  return {
      {"POST", "/embed", "POST /embed", false, Embed},
      {"POST", "/predict", "POST /predict", false, Predict},
      {"POST", "/tokenize", "POST /tokenize", false, Tokenize},
      {"GET", "/info", "GET /info", false, Info},
      {"GET", "/health", "GET /health", true,
       [](const httplib::Request&, const std::string&,
          RouteCall& call) -> absl::StatusOr<HttpReply> {
         if (!call.dispatcher().context().Ready()) {
           return absl::UnavailableError("lion-serve is not ready (loading or draining)");
         }
         return JsonReply("{}");
       }},
  };
}

}  // namespace lion::http
