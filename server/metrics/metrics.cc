#include "server/metrics/metrics.h"

#include <cmath>
#include <vector>

#include "prometheus/text_serializer.h"

namespace lion::metrics {
namespace {

using prometheus::Histogram;

// Powers of two times `first`, up to and including the first >= `last`,
// with `last` itself as the final bound.
Histogram::BucketBoundaries Geometric(double first, double last) {
  Histogram::BucketBoundaries bounds;
  for (double b = first; b < last; b *= 2) bounds.push_back(b);
  bounds.push_back(last);
  return bounds;
}

// 100 us .. 60 s, doubling.
const Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* b = new Histogram::BucketBoundaries(Geometric(1e-4, 60.0));
  return *b;
}
const Histogram::BucketBoundaries& BatchSizeBuckets() {
  static const auto* b = new Histogram::BucketBoundaries(Geometric(1, 1024));
  return *b;
}
const Histogram::BucketBoundaries& BatchTokenBuckets() {
  static const auto* b = new Histogram::BucketBoundaries(Geometric(16, 1 << 22));
  return *b;
}
const Histogram::BucketBoundaries& InputTokenBuckets() {
  static const auto* b = new Histogram::BucketBoundaries(Geometric(1, 1 << 17));
  return *b;
}

template <typename Builder>
auto& Register(Builder builder, const char* name, const char* help,
               prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kOverloaded: return "overloaded";
    case RejectReason::kDeadline: return "deadline";
    case RejectReason::kCancelled: return "cancelled";
    case RejectReason::kInvalid: return "invalid";
    case RejectReason::kUnauthenticated: return "unauthenticated";
  }
  return "unknown";
}

Metrics::Metrics(const BuildInfo& build)
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(Register(prometheus::BuildCounter(), "lion_requests_total",
                         "Finished requests by model, method and gRPC status code.", *registry_)),
      request_duration_(Register(prometheus::BuildHistogram(), "lion_request_duration_seconds",
                                 "Admission to response, seconds.", *registry_)),
      queue_duration_(Register(prometheus::BuildHistogram(), "lion_queue_duration_seconds",
                               "Admission to batch start, seconds.", *registry_)),
      batch_duration_(Register(prometheus::BuildHistogram(), "lion_batch_duration_seconds",
                               "Forward time of one batch, seconds.", *registry_)),
      batch_size_(Register(prometheus::BuildHistogram(), "lion_batch_size",
                           "Requests per batch.", *registry_)),
      batch_tokens_(Register(prometheus::BuildHistogram(), "lion_batch_tokens",
                             "Tokens per batch, padding included.", *registry_)),
      input_tokens_(Register(prometheus::BuildHistogram(), "lion_input_tokens",
                             "Tokens per request.", *registry_)),
      form_batches_(Register(prometheus::BuildCounter(), "lion_form_batches_total",
                             "Batches computed by each attention form.", *registry_)),
      queue_depth_(Register(prometheus::BuildGauge(), "lion_queue_depth",
                            "Admitted requests waiting for a batch.", *registry_)),
      rejected_(Register(prometheus::BuildCounter(), "lion_rejected_total",
                         "Requests refused or dropped before compute, by reason.", *registry_)),
      model_info_(Register(prometheus::BuildGauge(), "lion_model_info",
                           "Loaded models (value 1).", *registry_)),
      device_memory_(Register(prometheus::BuildGauge(), "lion_device_memory_bytes",
                              "Device memory by kind (used, total, peak).", *registry_)),
      build_info_(Register(prometheus::BuildGauge(), "lion_build_info",
                           "Build of this server (value 1).", *registry_)) {
  build_info_.Add({{"version", build.version}, {"git_sha", build.git_sha}, {"torch", build.torch}})
      .Set(1);
}

void Metrics::AddModel(const ModelLabels& l) {
  model_info_
      .Add({{"model", l.model},
            {"architecture", l.architecture},
            {"variant", l.variant},
            {"task", l.task},
            {"device", l.device}})
      .Set(1);
  for (const char* method : kMethods) {
    // Every code a served model's calls end with, from zero: rate() over a
    // series sees its first increment only if the series existed before.
    for (const char* code : kCodes) {
      requests_.Add({{"model", l.model}, {"method", method}, {"code", code}});
    }
    request_duration_.Add({{"model", l.model}, {"method", method}}, SecondsBuckets());
  }
  queue_duration_.Add({{"model", l.model}}, SecondsBuckets());
  input_tokens_.Add({{"model", l.model}}, InputTokenBuckets());
  queue_depth_.Add({{"model", l.model}});
  for (const char* form : kForms) {
    const prometheus::Labels labels = {{"model", l.model}, {"form", form}};
    batch_duration_.Add(labels, SecondsBuckets());
    batch_size_.Add(labels, BatchSizeBuckets());
    batch_tokens_.Add(labels, BatchTokenBuckets());
    form_batches_.Add(labels);
  }
  for (RejectReason r : {RejectReason::kOverloaded, RejectReason::kDeadline,
                         RejectReason::kCancelled, RejectReason::kInvalid,
                         RejectReason::kUnauthenticated}) {
    rejected_.Add({{"model", l.model}, {"reason", std::string(RejectReasonName(r))}});
  }
}

void Metrics::RecordRequest(const std::string& model, const std::string& method,
                            const std::string& code, double seconds) {
  requests_.Add({{"model", model}, {"method", method}, {"code", code}}).Increment();
  request_duration_.Add({{"model", model}, {"method", method}}, SecondsBuckets())
      .Observe(seconds);
}

void Metrics::RecordReject(const std::string& model, RejectReason reason) {
  rejected_.Add({{"model", model}, {"reason", std::string(RejectReasonName(reason))}})
      .Increment();
}

void Metrics::ObserveInputTokens(const std::string& model, int64_t tokens) {
  input_tokens_.Add({{"model", model}}, InputTokenBuckets()).Observe(static_cast<double>(tokens));
}

void Metrics::ObserveQueueSeconds(const std::string& model, double seconds) {
  queue_duration_.Add({{"model", model}}, SecondsBuckets()).Observe(seconds);
}

void Metrics::SetQueueDepth(const std::string& model, int64_t depth) {
  queue_depth_.Add({{"model", model}}).Set(static_cast<double>(depth));
}

void Metrics::RecordBatch(const std::string& model, const std::string& form, int64_t size,
                          int64_t tokens, double seconds) {
  const prometheus::Labels labels = {{"model", model}, {"form", form}};
  batch_duration_.Add(labels, SecondsBuckets()).Observe(seconds);
  batch_size_.Add(labels, BatchSizeBuckets()).Observe(static_cast<double>(size));
  batch_tokens_.Add(labels, BatchTokenBuckets()).Observe(static_cast<double>(tokens));
  form_batches_.Add(labels).Increment();
}

void Metrics::SetDeviceMemory(const std::string& device, int64_t used, int64_t total,
                              int64_t peak) {
  device_memory_.Add({{"device", device}, {"kind", "used"}}).Set(static_cast<double>(used));
  device_memory_.Add({{"device", device}, {"kind", "total"}}).Set(static_cast<double>(total));
  device_memory_.Add({{"device", device}, {"kind", "peak"}}).Set(static_cast<double>(peak));
}

std::string Metrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace lion::metrics
