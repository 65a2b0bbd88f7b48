// Small pieces every gRPC service of the API uses for a call that the runner
// completes later. Internal to server/api.
#ifndef LION_SERVER_API_GRPC_CALL_H_
#define LION_SERVER_API_GRPC_CALL_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "server/common/clock.h"

namespace lion::api {

// gRPC's deadline (system clock) on our clock; TimePoint::max() for none.
inline TimePoint DeadlineOf(const grpc::CallbackServerContext& ctx, const Clock& clock) {
  const auto deadline = ctx.deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return TimePoint::max();
  }
  const auto left = deadline - std::chrono::system_clock::now();
  return clock.Now() + std::chrono::duration_cast<Duration>(left);
}

// A unary call completed later by the runner; deletes itself when gRPC is done.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  void OnCancel() override { cancelled->store(true); }
  void OnDone() override { delete this; }
};

}  // namespace lion::api

#endif  // LION_SERVER_API_GRPC_CALL_H_
