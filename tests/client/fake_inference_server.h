// A tiny in-process lion.v1 server for client and load-generator tests. It
// listens on 127.0.0.1 (free port), answers Classify/Embed/FillMask/Tokenize
// after a per-request delay chosen by the test (without blocking gRPC
// threads: a timer thread finishes the calls), fills Usage from that delay,
// echoes ClassifyStream/EmbedStream, serves Models (one model "fake") and
// grpc.health.v1 (gRPC's default health service).
#ifndef LION_TESTS_CLIENT_FAKE_INFERENCE_SERVER_H_
#define LION_TESTS_CLIENT_FAKE_INFERENCE_SERVER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lion/v1/lion.grpc.pb.h"

namespace lion::testing {

struct FakeServerOptions {
  // Delay of the n-th unary request (0-based, counted over all methods).
  std::function<std::chrono::microseconds(int64_t n)> delay = [](int64_t) {
    return std::chrono::microseconds(0);
  };
  int fail_every = 0;         // every n-th request (n, 2n, ...) is RESOURCE_EXHAUSTED at once
  int unavailable_first = 0;  // the first n requests are UNAVAILABLE at once
  // TLS when tls_cert_pem is set (PEM contents, not paths); with
  // tls_client_ca_pem, clients must present a certificate signed by it.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string tls_client_ca_pem;
};

// Thread-safe accessors. Not copyable.
class FakeInferenceServer {
 public:
  static std::unique_ptr<FakeInferenceServer> Start(const FakeServerOptions& options);
  ~FakeInferenceServer();

  const std::string& address() const;
  int64_t requests() const;                // unary requests received
  int64_t max_in_flight() const;           // most unary requests pending at once
  std::vector<double> delays_us() const;   // the delays of requests answered OK
  std::string last_authorization() const;  // `authorization` metadata of the last request

  class Impl;

 private:
  explicit FakeInferenceServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lion::testing

#endif  // LION_TESTS_CLIENT_FAKE_INFERENCE_SERVER_H_
