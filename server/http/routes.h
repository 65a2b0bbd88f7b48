// The routes of the HTTP/JSON front, grouped by protocol: the Open
// Inference Protocol's REST form (oip_routes.cc), TEI-style (tei_routes.cc)
// and OpenAI-style (openai_routes.cc). Internal to server/http.
#ifndef LION_SERVER_HTTP_ROUTES_H_
#define LION_SERVER_HTTP_ROUTES_H_

#include <httplib.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "server/http/route_call.h"

namespace lion::http {

// Most inputs one TEI- or OpenAI-style request may carry.
inline constexpr size_t kMaxInputs = 1024;

// A successful answer; errors are absl::Status (http_status.h).
struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// `body`: the request body (empty for a POST without Content-Length, which
// some clients send for an empty body).
using RouteHandler = std::function<absl::StatusOr<HttpReply>(const httplib::Request&,
                                                             const std::string& body, RouteCall&)>;

struct Route {
  std::string method;   // "GET" or "POST"
  std::string pattern;  // cpp-httplib regex; groups land in Request::matches
  std::string name;     // the metric label, e.g. "POST /v2/models/{m}/infer"
  // Probes (health, liveness): no API key, no drain gate, not counted as
  // inference.
  bool probe = false;
  RouteHandler handler;
};

std::vector<Route> OipRoutes();
std::vector<Route> TeiRoutes();
std::vector<Route> OpenAiRoutes();

// A JSON reply.
HttpReply JsonReply(std::string body, int status = 200);

// The model a TEI- or OpenAI-style request without a model name means: the
// first text model by name ("" when none, which then resolves as usual).
std::string DefaultTextModel(const api::ServiceContext& context);

// The request body as a JSON object (INVALID_ARGUMENT otherwise).
absl::StatusOr<nlohmann::json> JsonBody(const std::string& body);

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_ROUTES_H_
