// The gRPC server: lion.v1.Inference, lion.v1.Models, the Open Inference
// Protocol (inference.GRPCInferenceService), grpc.health.v1 (default
// service) and reflection (v1alpha) on one port, plaintext or TLS.
// Health: "", "lion.v1.Inference", "lion.v1.Models" and
// "inference.GRPCInferenceService" are NOT_SERVING until
// SetServing(true), and again after SetServing(false) (draining: the
// listener stays open meanwhile).
// Thread safety: SetServing may be called from any thread (gRPC's health
// service locks internally). Shutdown and the destructor are not thread-safe:
// call them from one thread (main does both); a repeated call returns at once.
// Not copyable. Everything referenced by `context` must outlive it;
// Shutdown() (or the destructor) waits for in-flight calls.
#ifndef LION_SERVER_API_GRPC_SERVER_H_
#define LION_SERVER_API_GRPC_SERVER_H_

#include <memory>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "server/api/inference_service.h"
#include "server/api/models_service.h"
#include "server/api/oip_service.h"
#include "server/config/server_options.h"

namespace lion::api {

class GrpcServer {
 public:
  // Binds options.grpc_address (port 0 picks one). Errors: NOT_FOUND for
  // unreadable TLS files, UNAVAILABLE when the port cannot be bound. The
  // dispatcher must outlive the server.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Create(const config::ServerOptions& options,
                                                            Dispatcher* dispatcher);
  // The same with a dispatcher of its own (tests).
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
  GrpcServer() = default;

  std::unique_ptr<Dispatcher> own_dispatcher_;  // only when created from a context
  std::unique_ptr<InferenceService> inference_;
  std::unique_ptr<ModelsService> models_;
  std::unique_ptr<OipService> oip_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;  // only Shutdown() touches it: see "Thread safety" above
};

}  // namespace lion::api

#endif  // LION_SERVER_API_GRPC_SERVER_H_
