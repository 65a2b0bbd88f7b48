#include "server/http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/http/http_status.h"
#include "server/http/routes.h"

namespace lion::http {
namespace {

constexpr int kListenBacklog = 1024;

std::vector<std::string> HeaderValues(const httplib::Request& req, const char* name) {
  std::vector<std::string> values;
  auto [begin, end] = req.headers.equal_range(name);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

// Runs one route: gate and API key (unless a probe), the handler, metrics,
// and the reply or the JSON error.
void Handle(const Route& route, api::Dispatcher* dispatcher, int64_t timeout_s,
            const httplib::Request& req, const std::string& body, httplib::Response& res) {
  const api::ServiceContext& sc = dispatcher->context();
  const TimePoint start = sc.clock->Now();
  RouteCall call(dispatcher, start + std::chrono::seconds(timeout_s));
  std::shared_ptr<api::DrainGate::Pass> pass;  // held until the reply is built
  absl::StatusOr<HttpReply> reply = [&]() -> absl::StatusOr<HttpReply> {
    if (!route.probe) {
      ASSIGN_OR_RETURN(pass, dispatcher->Enter());
      RETURN_IF_ERROR(
          sc.Authenticate(HeaderValues(req, "authorization"), HeaderValues(req, "x-api-key")));
    }
    return route.handler(req, body, call);
  }();
  const absl::Status status = reply.status();
  if (!call.method.empty()) sc.Record(*call.label(), call.method, status, start);
  sc.RecordFront("http", route.name, status, start);
  if (!reply.ok()) {
    res.status = HttpStatusOf(status.code());
    res.set_content(ErrorBody(status), "application/json");
    return;
  }
  res.status = reply->status;
  for (const auto& [name, value] : reply->headers) res.set_header(name.c_str(), value);
  res.set_content(std::move(reply->body), reply->content_type.c_str());
}

// JSON for the errors cpp-httplib answers itself (no route, body too large,
// unparsable request); our handlers' errors already have a body.
httplib::Server::HandlerResponse OwnErrors(const api::ServiceContext& sc, int64_t max_body,
                                           const httplib::Request& req, httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  absl::Status status;
  if (res.status == 404) {
    status = absl::NotFoundError(absl::StrCat("no route ", req.method, " ", req.path.substr(0, 128),
                                              " (docs/api.md lists the HTTP routes)"));
  } else if (res.status == 413) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("request body larger than --max_message_bytes=", max_body));
  } else {
    status = absl::InvalidArgumentError(absl::StrCat("malformed HTTP request (", res.status, ")"));
  }
  sc.RecordFront("http", "(none)", status, sc.clock->Now());
  res.set_content(ErrorBody(status), "application/json");
  return httplib::Server::HandlerResponse::Handled;
}

absl::StatusOr<std::unique_ptr<httplib::Server>> NewServer(const config::TlsOptions& tls) {
  if (tls.cert.empty()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(
      tls.cert.c_str(), tls.key.c_str(), tls.client_ca.empty() ? nullptr : tls.client_ca.c_str());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError(
        "--http_address: cannot serve TLS with --tls_cert/--tls_key (unreadable or not PEM)");
  }
  return server;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const config::ServerOptions& options,
                                                               api::Dispatcher* dispatcher) {
  const std::string& address = options.http_address;
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http_address: expected host:port, got '", address, "'"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<httplib::Server> http, NewServer(options.tls));
  const size_t threads = static_cast<size_t>(options.http_threads);
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // A stalled client holds its worker for at most one read timeout.
  http->set_read_timeout(std::chrono::seconds(5));
  http->set_write_timeout(std::chrono::seconds(5));
  http->set_keep_alive_timeout(5);
  http->set_keep_alive_max_count(1 << 20);
  // cpp-httplib writes headers and body separately: without TCP_NODELAY,
  // Nagle's algorithm and the client's delayed ACK hold every response for
  // about 40 ms (measured: 22 requests/s on one keep-alive connection).
  http->set_tcp_nodelay(true);
  http->set_payload_max_length(static_cast<size_t>(options.max_message_bytes));
  // As in metrics_server.cc: SO_REUSEADDR only, so that a busy port is an error.
  // The listening socket is remembered for its backlog (below).
  auto listener = std::make_shared<socket_t>(INVALID_SOCKET);
  http->set_socket_options([listener](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
    *listener = sock;
  });
  const api::ServiceContext& sc = dispatcher->context();
  const int64_t max_body = options.max_message_bytes;
  http->set_error_handler(httplib::Server::HandlerWithResponse(
      [&sc, max_body](const httplib::Request& req, httplib::Response& res) {
        return OwnErrors(sc, max_body, req, res);
      }));
  std::vector<Route> routes = OipRoutes();
  for (std::vector<Route> more : {TeiRoutes(), OpenAiRoutes()}) {
    routes.insert(routes.end(), more.begin(), more.end());
  }
  const int64_t timeout_s = options.http_timeout_s;
  for (Route& route : routes) {
    if (route.method == "GET") {
      http->Get(route.pattern, [route, dispatcher, timeout_s](const httplib::Request& req,
                                                              httplib::Response& res) {
        Handle(route, dispatcher, timeout_s, req, std::string(), res);
      });
      continue;
    }
    // POST bodies are read here rather than by cpp-httplib, which would wait
    // for a body without Content-Length until the read timeout (tritonclient
    // sends its empty POSTs that way).
    http->Post(route.pattern, [route, dispatcher, timeout_s, &sc, max_body](
                                  const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
      std::string body;
      if (req.has_header("Content-Length") ||
          req.get_header_value("Transfer-Encoding") == "chunked") {
        const bool read = reader([&body](const char* data, size_t length) {
          body.append(data, length);
          return true;
        });
        if (!read) {
          if (res.status != 413) res.status = 400;
          OwnErrors(sc, max_body, req, res);
          return;
        }
      }
      Handle(route, dispatcher, timeout_s, req, body, res);
    });
  }
  if (port == 0) {
    port = http->bind_to_any_port(host);
  } else if (!http->bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0)
    return absl::UnavailableError(absl::StrCat("--http_address: cannot bind ", address));
  // cpp-httplib 0.11 listens with a backlog of 5: when many clients connect at
  // once the rest overflow the accept queue and some lose their first request
  // (measured: read errors at 64 clients). Listening again sets the backlog.
  if (*listener != INVALID_SOCKET) ::listen(*listener, kListenBacklog);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(http), port));
}

HttpServer::HttpServer(std::unique_ptr<httplib::Server> http, int port)
    : http_(std::move(http)), port_(port) {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is a no-op before the loop runs: wait for it so that Stop works.
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace lion::http
