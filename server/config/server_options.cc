#include "server/config/server_options.h"

#include "absl/strings/string_view.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace lion::config {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::Status AtLeast(absl::string_view flag, int64_t value, int64_t min) {
  if (value >= min) return absl::OkStatus();
  return Bad(flag, absl::StrCat("must be >= ", min, ", got ", value));
}

absl::Status CheckAddress(absl::string_view flag, const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return Bad(flag, absl::StrCat("expected host:port, got '", address, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckDevice(const std::string& device) {
  if (device == "cpu" || device == "cuda") return absl::OkStatus();
  int index = 0;
  if (device.rfind("cuda:", 0) == 0 && absl::SimpleAtoi(device.substr(5), &index) &&
      index >= 0) {
    return absl::OkStatus();
  }
  return Bad("device", absl::StrCat("expected cpu, cuda or cuda:N, got '", device, "'"));
}

}  // namespace

absl::Status ServerOptions::Validate() const {
  if (model_repository.empty()) return Bad("model_repository", "is required");
  if (auto s = CheckAddress("grpc_address", grpc_address); !s.ok()) return s;
  if (auto s = CheckAddress("metrics_address", metrics_address); !s.ok()) return s;
  if (auto s = CheckDevice(device); !s.ok()) return s;
  if (dtype != "float32" && dtype != "bfloat16" && dtype != "float16") {
    return Bad("dtype", absl::StrCat("expected float32, bfloat16 or float16, got '", dtype, "'"));
  }
  if (dtype != "float32" && device == "cpu") {
    return Bad("dtype", absl::StrCat(dtype, " needs --device=cuda"));
  }
  const std::pair<absl::string_view, std::pair<int64_t, int64_t>> minimums[] = {
      {"threads", {threads, 0}},
      {"max_batch_tokens", {batching.max_batch_tokens, 1}},
      {"max_batch_size", {batching.max_batch_size, 1}},
      {"max_queue_delay_us", {batching.max_queue_delay_us, 0}},
      {"max_queue_size", {batching.max_queue_size, 1}},
      {"max_queue_tokens", {batching.max_queue_tokens, 1}},
      {"max_input_tokens", {max_input_tokens, 1}},
      {"max_text_bytes", {max_text_bytes, 1}},
      {"max_stream_in_flight", {max_stream_in_flight, 1}},
      {"full_max_tokens", {form.full_max_tokens, 0}},
      {"chunk_size", {form.chunk_size, 0}},
      {"rnn_min_tokens", {form.rnn_min_tokens, 0}},
      {"memory_budget_bytes", {form.memory_budget_bytes, 1}},
      {"max_message_bytes", {max_message_bytes, 1024}},
      {"drain_timeout_s", {drain_timeout_s, 0}},
  };
  for (const auto& [flag, value_min] : minimums) {
    if (auto s = AtLeast(flag, value_min.first, value_min.second); !s.ok()) return s;
  }
  if (max_message_bytes > (int64_t{1} << 31) - 1) {
    return Bad("max_message_bytes", "must fit in 2 GiB - 1");
  }
  if (tls.cert.empty() != tls.key.empty()) {
    return Bad(tls.cert.empty() ? "tls_cert" : "tls_key",
               "--tls_cert and --tls_key must be given together");
  }
  if (!tls.client_ca.empty() && tls.cert.empty()) {
    return Bad("tls_client_ca", "needs --tls_cert and --tls_key");
  }
  if (log_format != "text" && log_format != "json") {
    return Bad("log_format", absl::StrCat("expected text or json, got '", log_format, "'"));
  }
  return absl::OkStatus();
}

}  // namespace lion::config
