// What every front (lion.v1 and OIP over gRPC, the HTTP/JSON front) shares:
// the models, credentials, metrics, time, the drain gate, readiness and the
// request limits. Plain struct; everything it points to must outlive the
// servers that use it. Thread-safe methods.
#ifndef LION_SERVER_API_SERVICE_CONTEXT_H_
#define LION_SERVER_API_SERVICE_CONTEXT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/callback_common.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/api/api_keys.h"
#include "server/api/drain_gate.h"
#include "server/api/wire.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/repository/model_registry.h"

namespace lion::repository {
class ModelRepository;
}

namespace lion::api {

struct ServiceContext {
  const repository::ModelRegistry* models = nullptr;
  const ApiKeys* keys = nullptr;  // null: no authentication
  metrics::Metrics* metrics = nullptr;
  Clock* clock = nullptr;
  DrainGate* gate = nullptr;  // null: never draining (tests)
  WireLimits wire;
  int64_t max_message_bytes = int64_t{64} << 20;
  int64_t max_stream_in_flight = 128;
  int preprocess_threads = 1;  // threads of the pool for large inputs
  // Set once every model at start-up is loaded; null: always ready (tests).
  const std::atomic<bool>* serving = nullptr;
  std::string version = "0.0.0";  // of lion-serve, for metadata calls
  // Load/unload on request (--model_control=explicit); null: not offered.
  repository::ModelRepository* repository = nullptr;

  // OK or UNAUTHENTICATED (counted in lion_rejected_total).
  absl::Status Authenticate(const grpc::CallbackServerContext& ctx) const;
  // The same for header values (HTTP): every `authorization` and `x-api-key`.
  absl::Status Authenticate(const std::vector<std::string>& authorization,
                            const std::vector<std::string>& api_key) const;
  // Serving (start-up done) and not draining.
  bool Ready() const;
  // Records one finished call or stream message in lion_requests_total and
  // lion_request_duration_seconds (and lion_rejected_total for invalid input).
  void Record(const std::string& model, const std::string& method, const absl::Status& status,
              TimePoint start) const;
  // Records one finished call in lion_front_requests_total.
  void RecordFront(const char* front, const std::string& route, const absl::Status& status,
                   TimePoint start) const;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_SERVICE_CONTEXT_H_
