// Metrics: the one owner of every metric name, label and bucket of lion-serve
// (docs/api.md section 9). All families exist from construction; AddModel()
// creates a model's zero-valued series. Thread-safe (prometheus-cpp metrics are
// atomic; families lock on Add). Not copyable. Outlives every component that
// records into it.
#ifndef LION_SERVER_METRICS_METRICS_H_
#define LION_SERVER_METRICS_METRICS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace lion::metrics {

enum class RejectReason { kOverloaded, kDeadline, kCancelled, kInvalid, kUnauthenticated };
absl::string_view RejectReasonName(RejectReason reason);

// Start-up phases of a model, timed for lion_model_load_seconds.
enum class LoadPhase { kLoad, kWarmup, kCalibration };
absl::string_view LoadPhaseName(LoadPhase phase);  // "load", "warmup", "calibration"

struct BuildInfo {
  std::string version;
  std::string git_sha;
  std::string torch;
};

struct ModelLabels {
  std::string model;
  std::string architecture;
  std::string variant;
  std::string task;
  std::string device;
};

class Metrics {
 public:
  explicit Metrics(const BuildInfo& build);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The API methods and form names that get zero series per model.
  // lion.v1 RPCs, and ModelInfer of the Open Inference Protocol (gRPC and
  // REST); the HTTP routes count under the task they run (Embed, Classify,
  // Tokenize) and are told apart by lion_front_requests_total.
  static constexpr const char* kMethods[] = {"Classify",       "Embed",       "FillMask",
                                             "Tokenize",       "ClassifyStream",
                                             "EmbedStream",    "ModelInfer"};
  static constexpr const char* kForms[] = {"full", "chunk", "rnn"};
  // The gRPC codes a model's calls can end with (docs/api.md), each a zero
  // series of lion_requests_total per model and method from the start.
  static constexpr const char* kCodes[] = {
      "OK",           "INVALID_ARGUMENT", "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED",
      "DEADLINE_EXCEEDED", "CANCELLED",   "UNAVAILABLE",         "INTERNAL"};

  void AddModel(const ModelLabels& labels);
  // An unloaded model: its lion_model_info series goes (its counters stay).
  void RemoveModel(const ModelLabels& labels);

  // One finished RPC (or stream message); code is the gRPC code name, e.g. "OK".
  void RecordRequest(const std::string& model, const std::string& method,
                     const std::string& code, double seconds);
  // One finished call as its front saw it: front "grpc" or "http", route the
  // full gRPC method ("lion.v1.Inference/Embed") or the HTTP route
  // ("POST /v1/embeddings"), code the gRPC code name (HTTP statuses derive
  // from it, docs/api.md). lion_front_requests_total and
  // lion_front_request_duration_seconds; a separate family so that the
  // contract families keep their label sets.
  void RecordFront(const std::string& front, const std::string& route, const std::string& code,
                   double seconds);
  void RecordReject(const std::string& model, RejectReason reason);
  void ObserveInputTokens(const std::string& model, int64_t tokens);
  void ObserveQueueSeconds(const std::string& model, double seconds);
  void SetQueueDepth(const std::string& model, int64_t depth);
  // One computed batch; tokens = batch size x longest input (padding included).
  void RecordBatch(const std::string& model, const std::string& form, int64_t size,
                   int64_t tokens, double seconds);
  void SetDeviceMemory(const std::string& device, int64_t used, int64_t total, int64_t peak);
  // Seconds one start-up phase of a model took (calibration: 0 when its
  // limits came from the cache or from flags).
  void SetModelLoadSeconds(const std::string& model, LoadPhase phase, double seconds);

  // The Prometheus text exposition of every family.
  std::string Serialize() const;
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& queue_duration_;
  prometheus::Family<prometheus::Histogram>& batch_duration_;
  prometheus::Family<prometheus::Histogram>& batch_size_;
  prometheus::Family<prometheus::Histogram>& batch_tokens_;
  prometheus::Family<prometheus::Histogram>& input_tokens_;
  prometheus::Family<prometheus::Counter>& form_batches_;
  prometheus::Family<prometheus::Gauge>& queue_depth_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Gauge>& model_info_;
  prometheus::Family<prometheus::Gauge>& device_memory_;
  prometheus::Family<prometheus::Gauge>& model_load_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Counter>& front_requests_;
  prometheus::Family<prometheus::Histogram>& front_duration_;
};

}  // namespace lion::metrics

#endif  // LION_SERVER_METRICS_METRICS_H_
