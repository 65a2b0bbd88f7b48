// How a LionClient connects: address, default deadline, TLS, API key, retries.
#ifndef LION_CLIENT_CLIENT_OPTIONS_H_
#define LION_CLIENT_CLIENT_OPTIONS_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/retry_policy.h"

namespace lion::client {

// TLS is on when `enabled` or any file is named. Files are PEM.
struct TlsOptions {
  bool enabled = false;
  std::string root_cert_file;    // CA that signed the server; empty = system roots
  std::string client_cert_file;  // mutual TLS: both cert and key, or neither
  std::string client_key_file;
  std::string server_name_override;  // expected name in the server certificate (tests)

  bool on() const { return enabled || !root_cert_file.empty() || !client_cert_file.empty(); }
};

// Copyable value type.
struct ClientOptions {
  std::string address = "127.0.0.1:50051";
  std::chrono::milliseconds deadline{30000};  // per call, unless CallOptions overrides it
  TlsOptions tls;
  std::string api_key;  // when set, every call sends `authorization: Bearer <api_key>`
  RetryPolicy retry;    // unary calls only; streams are never retried
  int max_message_bytes = 64 << 20;

  absl::Status Validate() const;
};

// A channel for `options` (validated first). Errors: INVALID_ARGUMENT for bad
// options, NOT_FOUND when a TLS file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options);

}  // namespace lion::client

#endif  // LION_CLIENT_CLIENT_OPTIONS_H_
