// ServerOptions: every setting of lion-serve, with its default (`lion-serve
// --help` lists them; docs/api.md section 7 describes the limits). Plain
// data, copyable. Built by ParseServerOptions (flags.h) from flags and LION_*
// environment variables; checked by Validate().
#ifndef LION_SERVER_CONFIG_SERVER_OPTIONS_H_
#define LION_SERVER_CONFIG_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lion::config {

struct BatchingOptions {
  int64_t max_batch_tokens = 16384;  // padded tokens per batch (size x longest)
  int64_t max_batch_size = 64;       // requests per batch
  // Longest wait for a batch to fill. 0 (as Triton's default): a request to an
  // idle model starts at once; under load, batches still form from what
  // arrives while the previous batch computes (the batcher holds them until
  // the runner is idle). Measured on lion-mlm-mini (BENCHMARKS.md section 3): 2000 us
  // cost 2.5x the throughput at concurrency 1 and gained nothing at 64.
  int64_t max_queue_delay_us = 0;
  int64_t max_queue_size = 1024;     // admitted, not yet batched requests per model
  // Admitted, not yet batched tokens per model: bounds the queued work, not
  // only the request count (a request alone in the queue is always admitted).
  int64_t max_queue_tokens = int64_t{1} << 20;
};

// Form policy limits. 0 means "take it from the calibration".
struct FormOptions {
  int64_t full_max_tokens = 0;   // full form up to this padded length
  int64_t chunk_size = 0;        // chunk form's C
  int64_t rnn_min_tokens = 0;    // RNN form from this length; calibrated if 0
  int64_t memory_budget_bytes = int64_t{1} << 30;  // attention working memory per batch
  bool calibrate = false;        // redo the calibration even if a cached one exists
  // Cache folder; empty = $XDG_CACHE_HOME/lion-serve/calibration or
  // ~/.cache/lion-serve/calibration (runtime/calibration_cache.h).
  std::string calibration_dir;
  bool calibrate_only = false;   // calibrate every model, write the cache, exit
};

struct TlsOptions {
  std::string cert;       // PEM server certificate chain; empty = plaintext
  std::string key;        // PEM private key
  std::string client_ca;  // PEM CA: when set, clients must present a certificate
};

struct ServerOptions {
  std::string model_repository;  // folder of model directories
  std::string grpc_address = "0.0.0.0:50051";
  std::string metrics_address = "0.0.0.0:9464";
  // The HTTP/JSON front (OIP REST, TEI- and OpenAI-style routes); empty = off.
  std::string http_address = "0.0.0.0:8080";
  // HTTP worker threads. Each keep-alive connection holds one while open, so
  // this is also the number of HTTP clients served at once.
  int64_t http_threads = 64;
  // Deadline of an HTTP request (gRPC clients set their own).
  int64_t http_timeout_s = 60;
  // Triton's names: none (load at start-up), poll (rescan the repository),
  // explicit (load/unload on request).
  std::string model_control = "none";
  int64_t repository_poll_s = 5;  // --model_control=poll: seconds between scans
  std::string device = "cpu";    // cpu | cuda | cuda:N
  std::string dtype = "float32";  // float32 | bfloat16 | float16 (16-bit: GPU only)
  int64_t threads = 0;           // intra-op threads; 0 = number of cores
  int64_t max_input_tokens = 8192;  // per request, for models without a position limit
  // Longest text accepted, checked before tokenizing (bounds the work and
  // memory one request can cause before any token limit applies).
  int64_t max_text_bytes = int64_t{8} << 20;
  // Messages of one stream admitted and not yet written back; the stream stops
  // reading from its client while it has this many (flow control).
  int64_t max_stream_in_flight = 128;
  BatchingOptions batching;
  FormOptions form;
  TlsOptions tls;
  std::string api_key_file;      // one key a line; empty = no authentication
  int64_t max_message_bytes = 64 << 20;
  int64_t drain_timeout_s = 30;
  std::string log_format = "text";  // text | json

  // OK, or INVALID_ARGUMENT naming the first bad flag and why.
  absl::Status Validate() const;
};

}  // namespace lion::config

#endif  // LION_SERVER_CONFIG_SERVER_OPTIONS_H_
