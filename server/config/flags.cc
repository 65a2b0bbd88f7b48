#include "server/config/flags.h"

#include <cstdlib>
#include "absl/strings/string_view.h"
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/status_macros.h"

namespace lion::config {
namespace {

// A flag is a name, its help and where its value lives in ServerOptions.
using Target = std::variant<std::string* (*)(ServerOptions&), int64_t* (*)(ServerOptions&),
                            bool* (*)(ServerOptions&)>;
struct Flag {
  const char* name;
  const char* help;
  Target target;
};

#define LION_FIELD(type, path) +[](ServerOptions& o) -> type* { return &o.path; }

const std::vector<Flag>& Flags() {
  static const auto* flags = new std::vector<Flag>{
      {"model_repository", "folder of model directories (required)",
       LION_FIELD(std::string, model_repository)},
      {"grpc_address", "host:port of the gRPC API", LION_FIELD(std::string, grpc_address)},
      {"metrics_address", "host:port of the Prometheus /metrics endpoint",
       LION_FIELD(std::string, metrics_address)},
      {"device", "cpu, cuda or cuda:N", LION_FIELD(std::string, device)},
      {"dtype", "float32, bfloat16 or float16 (GPU): weights and activations; fp32 accumulation",
       LION_FIELD(std::string, dtype)},
      {"threads", "intra-op CPU threads (0 = number of cores)", LION_FIELD(int64_t, threads)},
      {"max_batch_tokens", "padded tokens per batch (batch size x longest input)",
       LION_FIELD(int64_t, batching.max_batch_tokens)},
      {"max_batch_size", "requests per batch", LION_FIELD(int64_t, batching.max_batch_size)},
      {"max_queue_delay_us",
       "longest wait for a batch to fill, microseconds; 0: an idle model starts at once and "
       "batches form from what arrives while it computes",
       LION_FIELD(int64_t, batching.max_queue_delay_us)},
      {"max_queue_size", "admitted requests waiting per model; beyond it RESOURCE_EXHAUSTED",
       LION_FIELD(int64_t, batching.max_queue_size)},
      {"max_queue_tokens",
       "admitted tokens waiting per model; beyond it RESOURCE_EXHAUSTED (a request alone in "
       "the queue is always admitted)",
       LION_FIELD(int64_t, batching.max_queue_tokens)},
      {"max_input_tokens", "longest input for models without a position limit",
       LION_FIELD(int64_t, max_input_tokens)},
      {"max_text_bytes", "longest text accepted, in bytes, checked before tokenizing",
       LION_FIELD(int64_t, max_text_bytes)},
      {"max_stream_in_flight",
       "messages of one stream being computed or written back; the stream stops reading "
       "while it has this many",
       LION_FIELD(int64_t, max_stream_in_flight)},
      {"full_max_tokens", "full form up to this padded length (0 = calibrated)",
       LION_FIELD(int64_t, form.full_max_tokens)},
      {"chunk_size", "chunk size of the chunk form (0 = calibrated)",
       LION_FIELD(int64_t, form.chunk_size)},
      {"rnn_min_tokens", "RNN form from this padded length (0 = calibrated)",
       LION_FIELD(int64_t, form.rnn_min_tokens)},
      {"memory_budget_bytes", "attention working memory per batch; above it the RNN form",
       LION_FIELD(int64_t, form.memory_budget_bytes)},
      {"calibrate", "time the forms again instead of using the cached calibration",
       LION_FIELD(bool, form.calibrate)},
      {"calibration_dir", "where calibrations are cached (empty = in each model directory)",
       LION_FIELD(std::string, form.calibration_dir)},
      {"tls_cert", "PEM certificate chain: serve TLS", LION_FIELD(std::string, tls.cert)},
      {"tls_key", "PEM private key of --tls_cert", LION_FIELD(std::string, tls.key)},
      {"tls_client_ca", "PEM CA bundle: require client certificates (mutual TLS)",
       LION_FIELD(std::string, tls.client_ca)},
      {"api_key_file", "file of API keys, one a line: clients send 'authorization: Bearer KEY'",
       LION_FIELD(std::string, api_key_file)},
      {"max_message_bytes", "largest gRPC message received or sent",
       LION_FIELD(int64_t, max_message_bytes)},
      {"drain_timeout_s", "on SIGTERM, seconds in-flight requests get to finish",
       LION_FIELD(int64_t, drain_timeout_s)},
      {"log_format", "text or json", LION_FIELD(std::string, log_format)},
  };
  return *flags;
}
#undef LION_FIELD

std::string EnvName(absl::string_view flag) {
  return absl::StrCat("LION_", absl::AsciiStrToUpper(flag));
}

const Flag* FindFlag(absl::string_view name) {
  for (const Flag& f : Flags()) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

absl::Status SetValue(const Flag& flag, const std::string& value, const std::string& source,
                      ServerOptions& options) {
  struct Setter {
    const std::string& value;
    const std::string& source;
    ServerOptions& options;
    absl::Status operator()(std::string* (*field)(ServerOptions&)) const {
      *field(options) = value;
      return absl::OkStatus();
    }
    absl::Status operator()(int64_t* (*field)(ServerOptions&)) const {
      if (!absl::SimpleAtoi(value, field(options))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": expected an integer, got '", value, "'"));
      }
      return absl::OkStatus();
    }
    absl::Status operator()(bool* (*field)(ServerOptions&)) const {
      if (!absl::SimpleAtob(value, field(options))) {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ": expected true or false, got '", value, "'"));
      }
      return absl::OkStatus();
    }
  };
  return std::visit(Setter{value, source, options}, flag.target);
}

bool IsBool(const Flag& flag) {
  return std::holds_alternative<bool* (*)(ServerOptions&)>(flag.target);
}

std::string DefaultValue(const Flag& flag) {
  ServerOptions defaults;
  struct Printer {
    ServerOptions& o;
    std::string operator()(std::string* (*f)(ServerOptions&)) const {
      return f(o)->empty() ? "\"\"" : *f(o);
    }
    std::string operator()(int64_t* (*f)(ServerOptions&)) const { return absl::StrCat(*f(o)); }
    std::string operator()(bool* (*f)(ServerOptions&)) const { return *f(o) ? "true" : "false"; }
  };
  return std::visit(Printer{defaults}, flag.target);
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<ParsedCommandLine> ParseCommandLine(const std::vector<std::string>& args,
                                                    const EnvLookup& env) {
  ParsedCommandLine parsed;
  for (const Flag& flag : Flags()) {
    const std::string var = EnvName(flag.name);
    if (std::optional<std::string> value = env(var)) {
      RETURN_IF_ERROR(SetValue(flag, *value, var, parsed.options));
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      parsed.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", arg, "' (flags look like --name=value)"));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const Flag* flag = FindFlag(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value.has_value()) {
      if (IsBool(*flag)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    RETURN_IF_ERROR(SetValue(*flag, *value, absl::StrCat("--", name), parsed.options));
  }
  return parsed;
}

std::string HelpText(const std::string& program) {
  std::string text = absl::StrCat(
      "Usage: ", program, " --model_repository=DIR [flags]\n\n",
      "lion-serve: gRPC inference server for LION models.\n",
      "Every flag can also be set by its environment variable; a flag wins.\n\n");
  for (const Flag& flag : Flags()) {
    absl::StrAppendFormat(&text, "  --%-20s %s\n  %-22s env %s, default %s\n", flag.name,
                          flag.help, "", EnvName(flag.name), DefaultValue(flag));
  }
  return text;
}

}  // namespace lion::config
