// HttpServer: the HTTP/JSON front on --http_address (cpp-httplib; TLS with
// --tls_cert/--tls_key, client certificates with --tls_client_ca; the same
// API keys as gRPC). It serves the Open Inference Protocol's REST routes,
// TEI-style and OpenAI-style routes (routes.h) through the same Dispatcher
// and batchers as the gRPC services.
//
// Threads: --http_threads workers; each keep-alive connection holds one
// while it is open, so that many clients are served at once and further
// connections wait for a free worker. A handler waits for its completion at
// most until the request's deadline (--http_timeout_s, route_call.h); it
// never runs the model. Bodies over --max_message_bytes are refused with 413.
//
// Errors are JSON {"error": ..., "code": ...} with the HTTP status of
// http_status.h. Every call is counted in lion_front_requests_total{front=
// "http"}, and inference calls in lion_requests_total like gRPC ones.
// Thread-safe. Not copyable. The Dispatcher must outlive it.
#ifndef LION_SERVER_HTTP_HTTP_SERVER_H_
#define LION_SERVER_HTTP_HTTP_SERVER_H_

#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "server/api/dispatcher.h"
#include "server/config/server_options.h"

namespace httplib {
class Server;
}

namespace lion::http {

class HttpServer {
 public:
  // Binds options.http_address (port 0 picks one). Errors: INVALID_ARGUMENT
  // for a malformed address or unusable TLS files, UNAVAILABLE when the port
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(const config::ServerOptions& options,
                                                            api::Dispatcher* dispatcher);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Closes the listener and waits for the handlers running. Idempotent.
  void Stop();

 private:
  HttpServer(std::unique_ptr<httplib::Server> http, int port);

  std::unique_ptr<httplib::Server> http_;
  const int port_;
  std::thread thread_;
};

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_HTTP_SERVER_H_
