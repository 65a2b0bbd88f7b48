// The load generator behind `lion-client bench`, independent of gRPC: it
// decides when to start requests and summarises what came back. Two modes:
//   closed loop  `concurrency` requests always in flight (a new one starts as
//                one finishes);
//   open loop    `rate` requests per second on a fixed schedule (RateLimiter),
//                whatever the latency; a request that comes due while
//                `max_in_flight` are in flight is skipped and counted.
// Requests started during the warm-up are sent but not measured. Every run is
// bounded by `duration` and, when set, by `requests`.
#ifndef LION_CLIENT_LOAD_GENERATOR_H_
#define LION_CLIENT_LOAD_GENERATOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "client/latency_stats.h"

namespace lion::client {

// What one request returned.
struct RequestResult {
  int code = 0;            // grpc::StatusCode number; 0 = OK
  bool has_usage = false;  // the response carried lion.v1.Usage
  uint64_t queue_us = 0;
  uint64_t compute_us = 0;
  uint64_t total_us = 0;
};

// Starts one request and returns without waiting; must call `done` exactly
// once, from any thread, possibly before returning.
using DoneFn = std::function<void(const RequestResult&)>;
using IssueFn = std::function<void(DoneFn done)>;

// Reported about once a second while a run goes on.
struct LoadProgress {
  double elapsed_s = 0;  // since the run started (warm-up included)
  bool warming_up = false;
  int64_t sent = 0;
  int64_t completed = 0;
  int64_t errors = 0;
  int64_t in_flight = 0;
  double recent_rate = 0;  // completions per second over the last interval
};

struct LoadOptions {
  int concurrency = 0;  // closed loop when > 0
  double rate = 0;      // open loop when > 0 (exactly one of the two)
  int max_in_flight = 256;
  std::chrono::milliseconds warmup{0};
  std::chrono::milliseconds duration{10000};  // measured phase, always bounded
  int64_t requests = 0;  // measured requests to send; 0 = only `duration` bounds the run
  std::chrono::milliseconds drain_timeout{30000};  // wait for in-flight requests at the end
  std::chrono::milliseconds progress_interval{1000};
  std::function<void(const LoadProgress&)> on_progress;  // optional

  absl::Status Validate() const;
};

struct LoadReport {
  std::string mode;       // "concurrency" or "rate"
  double level = 0;       // the concurrency or the requested rate
  int64_t sent = 0;       // measured requests started
  int64_t completed = 0;  // measured requests finished (any status)
  int64_t skipped = 0;    // open loop: due while max_in_flight were in flight
  double elapsed_s = 0;   // end of warm-up to the last measured completion
  double throughput = 0;  // completed / elapsed_s
  double ok_throughput = 0;
  LatencyStats latency_us;       // measured requests that returned OK
  std::map<int, int64_t> codes;  // status code -> count (measured requests)
  int64_t usage_count = 0;       // responses that carried Usage
  double avg_queue_us = 0;
  double avg_compute_us = 0;
  double avg_total_us = 0;
};

// Runs one load level to the end. Errors: INVALID_ARGUMENT for bad options,
// DEADLINE_EXCEEDED when requests are still in flight after drain_timeout.
// Thread-safety: `issue` is called from the calling thread only.
absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options, const IssueFn& issue);

}  // namespace lion::client

#endif  // LION_CLIENT_LOAD_GENERATOR_H_
