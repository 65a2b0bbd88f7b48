// MetricsServer: serves GET /metrics (Prometheus text format) from its own
// HTTP threads (cpp-httplib; not prometheus-cpp's civetweb Exposer, whose small
// thread stacks fail beside LibTorch). Not copyable. The Metrics it serves must
// outlive it. Stops and joins in the destructor.
#ifndef LION_SERVER_METRICS_METRICS_SERVER_H_
#define LION_SERVER_METRICS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/metrics/metrics.h"

namespace httplib {
class Server;
}

namespace lion::metrics {

class MetricsServer {
 public:
  // Binds `address` (host:port; port 0 picks a free one) and starts serving.
  // `before_scrape` (optional) runs on the HTTP thread before each scrape, to
  // refresh gauges such as device memory; it must be thread-safe.
  // Errors: INVALID_ARGUMENT for a malformed address, UNAVAILABLE if the bind fails.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Create(
      const std::string& address, const Metrics* metrics,
      std::function<void()> before_scrape = nullptr);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<httplib::Server> http, int port);

  std::unique_ptr<httplib::Server> http_;
  int port_;
  std::thread thread_;
};

}  // namespace lion::metrics

#endif  // LION_SERVER_METRICS_METRICS_SERVER_H_
