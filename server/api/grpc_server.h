// The gRPC server: lion.v1.Inference, lion.v1.Models, grpc.health.v1 (default
// service) and reflection (v1alpha) on one port, plaintext or TLS.
// Health: "", "lion.v1.Inference" and "lion.v1.Models" are NOT_SERVING until
// SetServing(true), and again after SetServing(false) (draining: the
// listener stays open meanwhile).
// Thread safety: SetServing from any thread; Shutdown from one thread at a
// time (main). Not copyable. Everything referenced by `context` must outlive
// it; Shutdown() (or the destructor) waits for in-flight calls.
#ifndef LION_SERVER_API_GRPC_SERVER_H_
#define LION_SERVER_API_GRPC_SERVER_H_

#include <memory>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "server/api/inference_service.h"
#include "server/api/models_service.h"
#include "server/config/server_options.h"

namespace lion::api {

class GrpcServer {
 public:
  // Binds options.grpc_address (port 0 picks one). Errors: NOT_FOUND for
  // unreadable TLS files, UNAVAILABLE when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Create(const config::ServerOptions& options,
                                                            const ServiceContext& context);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return port_; }
  void SetServing(bool serving);
  // NOT_SERVING, then closes the listener; calls still running after `grace`
  // are cancelled. Returns when every call is done. Idempotent.
  void Shutdown(Duration grace);

 private:
  GrpcServer(std::unique_ptr<InferenceService> inference, std::unique_ptr<ModelsService> models)
      : inference_(std::move(inference)), models_(std::move(models)) {}

  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<ModelsService> models_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;  // touched only by the thread that shuts down
};

}  // namespace lion::api

#endif  // LION_SERVER_API_GRPC_SERVER_H_
