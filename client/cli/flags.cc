#include "client/cli/flags.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace lion::client::cli {

const std::vector<CommandSpec>& Commands() {
  static const auto* kCommands = new std::vector<CommandSpec>{
      {"models", "list the served models, or describe one with --model"},
      {"classify", "top-k labels for --text, --ids or --image"},
      {"embed", "pooled embedding for --text, --ids or --image (printed, or --out x.npy / x.json)"},
      {"embed-stream",
       "embed every line of --input over one stream (--out x.npy: an [N, dim] matrix in line order)"},
      {"fill-mask", "predictions for each mask token in --text (or --ids)"},
      {"tokenize", "token ids, strings and byte offsets of --text"},
      {"health", "grpc.health.v1 check of --service (\"\" = the whole server)"},
      {"bench", "load generator: concurrency sweep or fixed rate, latency percentiles"},
  };
  return *kCommands;
}

const std::vector<FlagSpec>& Flags() {
  using C = std::vector<std::string>;
  const C infer = {"classify", "embed", "fill-mask", "tokenize"};
  static const auto* kFlags = new std::vector<FlagSpec>{
      {"address", "127.0.0.1:50051", "server host:port"},
      {"deadline_ms", "30000", "per-call deadline in milliseconds"},
      {"json", "", "machine-readable JSON on stdout", {}, true},
      {"retries", "3", "attempts per call (UNAVAILABLE only is retried, exponential backoff)"},
      {"tls", "", "use TLS with the system root certificates", {}, true},
      {"tls_ca", "", "PEM file of the CA that signed the server (implies TLS)"},
      {"tls_cert", "", "PEM client certificate for mutual TLS (with --tls_key)"},
      {"tls_key", "", "PEM client private key for mutual TLS"},
      {"tls_server_name", "", "expected server name in its certificate"},
      {"api_key", "", "sent as `authorization: Bearer <key>`"},
      {"api_key_file", "", "read the API key from this file"},
      {"model",
       "",
       "model name (empty = the server's default model)",
       {"models", "classify", "embed", "embed-stream", "fill-mask", "tokenize", "bench"}},
      {"form",
       "auto",
       "LION form: auto|full|chunk|rnn",
       {"classify", "embed", "embed-stream", "fill-mask", "bench"}},
      {"text", "", "input text", infer},
      {"ids", "", "input token ids, e.g. 101,2023,102", {"classify", "embed", "fill-mask"}},
      {"image", "", "PNG or JPEG file to send as the input", {"classify", "embed", "bench"}},
      {"truncation",
       "none",
       "over-long input: none (error)|right|left",
       {"classify", "embed", "embed-stream", "fill-mask", "tokenize"}},
      {"top_k", "5", "labels or candidates to return (0 = all labels)", {"classify", "fill-mask"}},
      {"raw_scores", "", "logits instead of probabilities", {"classify"}, true},
      {"pooling", "default", "default|mean|cls", {"embed", "embed-stream"}},
      {"normalize", "", "L2-normalise the embedding", {"embed", "embed-stream"}, true},
      {"out",
       "",
       "write to FILE: .npy (float32) or JSON (the whole response; one line each for a stream)",
       {"embed", "embed-stream"}},
      {"input", "", "file of texts, one per line (- = stdin; empty lines skipped)", {"embed-stream"}},
      {"special_tokens", "true", "add [CLS]/[SEP]", {"tokenize"}, true},
      {"service", "", "service name to check", {"health"}},
      {"method", "embed", "RPC to load: classify|embed|fill-mask|tokenize", {"bench"}},
      {"concurrency", "", "closed loop: comma-separated levels to sweep, e.g. 1,8,64", {"bench"}},
      {"rate", "", "open loop: requests per second", {"bench"}},
      {"max_in_flight",
       "256",
       "open loop: due requests beyond this many in flight are skipped",
       {"bench"}},
      {"length", "fixed:128", "input words: fixed:N | uniform:A:B | file:texts.txt", {"bench"}},
      {"duration_s", "10", "measured seconds per level", {"bench"}},
      {"requests",
       "1000",
       "measured requests per level (0 = only --duration_s bounds it)",
       {"bench"}},
      {"warmup_s", "1", "seconds of unmeasured warm-up per level", {"bench"}},
      {"seed", "1", "random seed of the generated texts", {"bench"}},
      {"progress", "true", "a progress line on stderr once a second", {"bench"}, true},
  };
  return *kFlags;
}

const std::string& HelpEpilogue() {
  static const auto* kText = new std::string(R"(exit status:
  0 success; otherwise the gRPC status code of the failed call:
  1 CANCELLED  2 UNKNOWN  3 INVALID_ARGUMENT  4 DEADLINE_EXCEEDED  5 NOT_FOUND
  7 PERMISSION_DENIED  8 RESOURCE_EXHAUSTED  9 FAILED_PRECONDITION  13 INTERNAL
  14 UNAVAILABLE (server down, not ready or draining; `health` also when NOT_SERVING)
  16 UNAUTHENTICATED; local problems use the same codes (5 for a missing file).
  64 the command line could not be parsed.
  bench exits 0 when it ran, whatever codes the requests returned.

examples:
  lion-client models --json
  lion-client classify --image cat.png --top_k 3
  lion-client embed --text "a sentence" --normalize --out v.npy
  lion-client embed-stream --input texts.txt --out embeddings.npy
  lion-client fill-mask --text "paris is the [MASK] of france"
  lion-client bench --method embed --concurrency 1,8,64 --length uniform:16:512 --duration_s 5
  lion-client bench --rate 200 --requests 2000 --json > bench.json
)");
  return *kText;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot read '", path, "'"));
  }
  std::istream& in = path == "-" ? std::cin : file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

absl::StatusOr<ClientOptions> MakeClientOptions(const Args& args) {
  ClientOptions o;
  o.address = args.Get("address");
  ASSIGN_OR_RETURN(const int64_t deadline_ms, args.GetInt("deadline_ms"));
  o.deadline = std::chrono::milliseconds(deadline_ms);
  ASSIGN_OR_RETURN(const int64_t retries, args.GetInt("retries"));
  o.retry.max_attempts = static_cast<int>(retries);
  o.tls.enabled = args.GetBool("tls");
  o.tls.root_cert_file = args.Get("tls_ca");
  o.tls.client_cert_file = args.Get("tls_cert");
  o.tls.client_key_file = args.Get("tls_key");
  o.tls.server_name_override = args.Get("tls_server_name");
  o.api_key = args.Get("api_key");
  if (args.Has("api_key_file")) {
    ASSIGN_OR_RETURN(std::string key, ReadFile(args.Get("api_key_file")));
    o.api_key = std::string(absl::StripAsciiWhitespace(key));
  }
  RETURN_IF_ERROR(o.Validate());
  return o;
}

absl::StatusOr<v1::Form> ParseForm(const std::string& form) {
  if (form == "auto") return v1::FORM_AUTO;
  if (form == "full") return v1::FORM_FULL;
  if (form == "chunk") return v1::FORM_CHUNK;
  if (form == "rnn") return v1::FORM_RNN;
  return absl::InvalidArgumentError(
      absl::StrCat("--form: expected auto|full|chunk|rnn, got '", form, "'"));
}

absl::StatusOr<v1::Truncation> ParseTruncation(const std::string& truncation) {
  if (truncation == "none") return v1::TRUNCATION_NONE;
  if (truncation == "right") return v1::TRUNCATION_RIGHT;
  if (truncation == "left") return v1::TRUNCATION_LEFT;
  return absl::InvalidArgumentError(
      absl::StrCat("--truncation: expected none|right|left, got '", truncation, "'"));
}

}  // namespace lion::client::cli
