#include "server/metrics/metrics_server.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lion::metrics {
namespace {

constexpr size_t kHttpThreads = 32;

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Create(
    const std::string& address, const Metrics* metrics, std::function<void()> before_scrape) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics_address: expected host:port, got '", address, "'"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto http = std::make_unique<httplib::Server>();
  // A connection holds one thread while it sends its request, for up to the
  // read timeout per read: slow or stalled clients (a half-sent header) must
  // not take every thread and starve the scraper, so time out reads quickly
  // and keep many more threads than scrapers ever need.
  http->set_read_timeout(std::chrono::seconds(2));
  http->set_write_timeout(std::chrono::seconds(5));
  http->set_keep_alive_timeout(5);
  http->new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind a
  // busy port silently; keep only SO_REUSEADDR so a clash is an error.
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
  http->Get("/metrics", [metrics, before_scrape](const httplib::Request&, httplib::Response& res) {
    if (before_scrape) before_scrape();
    res.set_content(metrics->Serialize(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("lion-serve: metrics at /metrics\n", "text/plain");
  });
  if (port == 0) {
    port = http->bind_to_any_port(host);
    if (port < 0) port = -1;
  } else if (!http->bind_to_port(host, port)) {
    port = -1;
  }
  if (port < 0) {
    return absl::UnavailableError(absl::StrCat("metrics endpoint: cannot bind ", address));
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(http), port));
}

MetricsServer::MetricsServer(std::unique_ptr<httplib::Server> http, int port)
    : http_(std::move(http)), port_(port) {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is a no-op before the loop runs: wait for it so the destructor works.
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsServer::~MetricsServer() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lion::metrics
