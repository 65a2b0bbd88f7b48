#include "server/api/service_context.h"

#include "server/api/status_mapping.h"

namespace lion::api {

absl::Status ServiceContext::Authenticate(const grpc::CallbackServerContext& ctx) const {
  if (keys == nullptr) return absl::OkStatus();
  absl::Status s = keys->Check(ctx.client_metadata());
  if (!s.ok()) metrics->RecordReject("", metrics::RejectReason::kUnauthenticated);
  return s;
}

absl::Status ServiceContext::Authenticate(const std::vector<std::string>& authorization,
                                          const std::vector<std::string>& api_key) const {
  if (keys == nullptr) return absl::OkStatus();
  absl::Status s = keys->Check(authorization, api_key);
  if (!s.ok()) metrics->RecordReject("", metrics::RejectReason::kUnauthenticated);
  return s;
}

bool ServiceContext::Ready() const {
  const bool started = serving == nullptr || serving->load();
  return started && (gate == nullptr || !gate->draining());
}

void ServiceContext::Record(const std::string& model, const std::string& method,
                            const absl::Status& status, TimePoint start) const {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    metrics->RecordReject(model, metrics::RejectReason::kInvalid);
  }
  metrics->RecordRequest(model, method, CodeName(status.code()),
                         std::chrono::duration<double>(clock->Now() - start).count());
}

void ServiceContext::RecordFront(const char* front, const std::string& route,
                                 const absl::Status& status, TimePoint start) const {
  metrics->RecordFront(front, route, CodeName(status.code()),
                       std::chrono::duration<double>(clock->Now() - start).count());
}

}  // namespace lion::api
