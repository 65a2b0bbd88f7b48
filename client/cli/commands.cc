#include "client/cli/commands.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/flags.h"
#include "client/npy_writer.h"
#include "server/common/status_macros.h"

namespace lion::client::cli {
namespace {

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

std::string FormatUsage(const v1::Usage& u) {
  return absl::StrFormat("usage: tokens=%d form=%s batch=%d queue=%dus compute=%dus total=%dus",
                         u.input_tokens(), v1::Form_Name(u.form()), u.batch_size(), u.queue_us(),
                         u.compute_us(), u.total_us());
}

// The fields every inference request shares: --model, --form, --truncation.
template <typename Request>
absl::Status FillCommon(const Args& args, Request& request) {
  request.set_model(args.Get("model"));
  ASSIGN_OR_RETURN(const v1::Form form, ParseForm(args.Get("form")));
  request.set_form(form);
  ASSIGN_OR_RETURN(const v1::Truncation truncation, ParseTruncation(args.Get("truncation")));
  request.set_truncation(truncation);
  return absl::OkStatus();
}

// --pooling and --normalize of an embedding request.
absl::Status FillEmbedOptions(const Args& args, v1::EmbedRequest& request) {
  const std::string& pooling = args.Get("pooling");
  if (pooling == "mean") {
    request.set_pooling(v1::POOLING_MEAN);
  } else if (pooling == "cls") {
    request.set_pooling(v1::POOLING_CLS);
  } else if (pooling != "default") {
    return absl::InvalidArgumentError(
        absl::StrCat("--pooling: expected default|mean|cls, got '", pooling, "'"));
  }
  request.set_normalize(args.GetBool("normalize"));
  return absl::OkStatus();
}

// The common fields, and the `input` oneof from exactly one of --text, --ids, --image.
template <typename Request>
absl::Status FillRequest(const Args& args, Request& request) {
  RETURN_IF_ERROR(FillCommon(args, request));
  const int given = args.Has("text") + args.Has("ids") + args.Has("image");
  if (given != 1) return absl::InvalidArgumentError("give exactly one of --text, --ids or --image");
  if (args.Has("text")) request.set_text(args.Get("text"));
  if (args.Has("ids")) {
    ASSIGN_OR_RETURN(const std::vector<int64_t> ids, args.GetIntList("ids"));
    for (int64_t id : ids) request.mutable_token_ids()->add_ids(static_cast<int32_t>(id));
  }
  if constexpr (requires { request.mutable_image(); }) {
    if (args.Has("image")) {
      ASSIGN_OR_RETURN(*request.mutable_image()->mutable_encoded(), ReadFile(args.Get("image")));
    }
  }
  return absl::OkStatus();
}

// An embedding as one line of space-separated floats (7 significant digits).
std::string FormatEmbedding(const google::protobuf::RepeatedField<float>& embedding) {
  return absl::StrJoin(embedding, " ", [](std::string* s, float v) {
    absl::StrAppend(s, absl::StrFormat("%.7g", v));
  });
}

void PrintModel(const v1::ModelInfo& m) {
  std::cout << absl::StrFormat(
      "%-24s %-15s %-10s %-4s hidden=%-5d layers=%-3d heads=%-3d max_tokens=%-6d device=%s\n",
      m.name(), m.task(), m.architecture(), m.variant(), m.hidden_size(), m.num_layers(),
      m.num_heads(), m.max_input_tokens(), m.device());
}

}  // namespace

absl::Status RunModels(const Args& args, LionClient& client) {
  if (args.Has("model")) {
    ASSIGN_OR_RETURN(const v1::ModelInfo info, client.GetModel(args.Get("model")));
    if (args.GetBool("json")) {
      std::cout << ToJson(info) << "\n";
    } else {
      std::cout << info.DebugString();
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const v1::ListModelsResponse list, client.ListModels());
  if (args.GetBool("json")) {
    std::cout << ToJson(list) << "\n";
  } else {
    for (const v1::ModelInfo& m : list.models()) PrintModel(m);
  }
  return absl::OkStatus();
}

absl::Status RunClassify(const Args& args, LionClient& client) {
  v1::ClassifyRequest request;
  RETURN_IF_ERROR(FillRequest(args, request));
  ASSIGN_OR_RETURN(const int64_t top_k, args.GetInt("top_k"));
  request.set_top_k(static_cast<uint32_t>(top_k));
  request.set_raw_scores(args.GetBool("raw_scores"));
  ASSIGN_OR_RETURN(const v1::ClassifyResponse response, client.Classify(request));
  if (args.GetBool("json")) {
    std::cout << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  for (const v1::Prediction& p : response.predictions()) {
    std::cout << absl::StrFormat("%-24s %10.6f  (index %d)\n", p.label(), p.score(), p.index());
  }
  std::cout << FormatUsage(response.usage()) << "\n";
  return absl::OkStatus();
}

absl::Status RunEmbed(const Args& args, LionClient& client) {
  v1::EmbedRequest request;
  RETURN_IF_ERROR(FillRequest(args, request));
  RETURN_IF_ERROR(FillEmbedOptions(args, request));
  ASSIGN_OR_RETURN(const v1::EmbedResponse response, client.Embed(request));
  const std::string& out = args.Get("out");
  if (out.ends_with(".npy")) {
    const int64_t shape[] = {response.embedding_size()};
    RETURN_IF_ERROR(WriteNpy(out, response.embedding(), shape));
  } else if (!out.empty()) {
    FILE* f = std::fopen(out.c_str(), "w");
    if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write '", out, "'"));
    std::fprintf(f, "%s\n", ToJson(response).c_str());
    std::fclose(f);
  }
  if (args.GetBool("json")) {
    std::cout << ToJson(response) << "\n";
  } else if (out.empty()) {
    std::cout << FormatEmbedding(response.embedding()) << "\n";
  } else {
    std::cout << "wrote " << response.embedding_size() << " floats to " << out << "\n";
  }
  if (!args.GetBool("json"))
    std::cerr << "dim=" << response.embedding_size() << " " << FormatUsage(response.usage())
              << "\n";
  return absl::OkStatus();
}

absl::Status RunEmbedStream(const Args& args, LionClient& client) {
  const std::string& input = args.Get("input");
  if (input.empty()) return absl::InvalidArgumentError("--input: give a file of texts, or - for stdin");
  ASSIGN_OR_RETURN(const std::vector<std::string> texts, ReadLines(input));
  if (texts.empty()) return absl::InvalidArgumentError(absl::StrCat("--input '", input, "' has no text"));
  v1::EmbedRequest base;
  RETURN_IF_ERROR(FillCommon(args, base));
  RETURN_IF_ERROR(FillEmbedOptions(args, base));

  // One thread writes every request (id = the line's index) while this one
  // reads the responses, which come in completion order.
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<EmbedStream> stream = client.StartEmbedStream();
  std::thread writer([&] {
    v1::EmbedRequest request = base;
    for (size_t i = 0; i < texts.size(); ++i) {
      request.set_id(absl::StrCat(i));
      request.set_text(texts[i]);
      if (!stream->Write(request)) break;  // broken: Finish() says why
    }
    stream->WritesDone();
  });
  std::vector<std::optional<v1::EmbedResponse>> responses(texts.size());
  size_t received = 0;
  absl::Status bad_id;
  while (std::optional<v1::EmbedResponse> r = stream->Read()) {
    size_t index = 0;
    if (!absl::SimpleAtoi(r->id(), &index) || index >= texts.size() || responses[index]) {
      bad_id = absl::InternalError(absl::StrCat("the server answered an unknown id '", r->id(), "'"));
      stream->Cancel();
      break;
    }
    responses[index] = std::move(*r);
    ++received;
  }
  writer.join();
  const absl::Status status = stream->Finish();
  RETURN_IF_ERROR(bad_id);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(status.message(), " (after ", received, " of ",
                                                    texts.size(), " embeddings)"));
  }
  if (received != texts.size()) {
    return absl::InternalError(absl::StrCat("the stream ended after ", received, " of ",
                                            texts.size(), " embeddings"));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const std::string& out = args.Get("out");
  const int dim = responses.front()->embedding_size();
  if (out.ends_with(".npy")) {
    std::vector<float> matrix;
    matrix.reserve(texts.size() * dim);
    for (const auto& r : responses) {
      if (r->embedding_size() != dim) {
        return absl::FailedPreconditionError("embeddings differ in size: cannot write one .npy matrix");
      }
      matrix.insert(matrix.end(), r->embedding().begin(), r->embedding().end());
    }
    const int64_t shape[] = {static_cast<int64_t>(texts.size()), dim};
    RETURN_IF_ERROR(WriteNpy(out, matrix, shape));
  } else if (!out.empty()) {
    std::ofstream file(out);
    if (!file) return absl::PermissionDeniedError(absl::StrCat("cannot write '", out, "'"));
    for (const auto& r : responses) file << ToJson(*r) << "\n";
  }
  if (args.GetBool("json")) {
    for (const auto& r : responses) std::cout << ToJson(*r) << "\n";
  } else if (out.empty()) {
    for (const auto& r : responses) {
      std::cout << FormatEmbedding(r->embedding()) << "\n";
    }
  }
  if (!args.GetBool("json")) {
    std::cerr << absl::StrFormat("%d embeddings of dim %d in %.2f s (%.1f/s)%s\n", texts.size(), dim,
                                 seconds, texts.size() / seconds,
                                 out.empty() ? "" : absl::StrCat(", written to ", out));
  }
  return absl::OkStatus();
}

absl::Status RunFillMask(const Args& args, LionClient& client) {
  v1::FillMaskRequest request;
  RETURN_IF_ERROR(FillRequest(args, request));
  ASSIGN_OR_RETURN(const int64_t top_k, args.GetInt("top_k"));
  request.set_top_k(static_cast<uint32_t>(top_k));
  ASSIGN_OR_RETURN(const v1::FillMaskResponse response, client.FillMask(request));
  if (args.GetBool("json")) {
    std::cout << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  for (const v1::MaskPrediction& m : response.masks()) {
    std::cout << "position " << m.position() << ":\n";
    for (const v1::Candidate& c : m.candidates()) {
      std::cout << absl::StrFormat("  %-20s %10.6f  (id %d)\n", c.token(), c.score(), c.id());
    }
  }
  std::cout << FormatUsage(response.usage()) << "\n";
  return absl::OkStatus();
}

absl::Status RunTokenize(const Args& args, LionClient& client) {
  v1::TokenizeRequest request;
  request.set_model(args.Get("model"));
  request.set_text(args.Get("text"));
  ASSIGN_OR_RETURN(const v1::Truncation truncation, ParseTruncation(args.Get("truncation")));
  request.set_truncation(truncation);
  request.set_add_special_tokens(args.GetBool("special_tokens"));
  ASSIGN_OR_RETURN(const v1::TokenizeResponse response, client.Tokenize(request));
  if (args.GetBool("json")) {
    std::cout << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  for (int i = 0; i < response.ids_size(); ++i) {
    const std::string token = i < response.tokens_size() ? response.tokens(i) : "";
    std::cout << absl::StrFormat("%6d  %-20s", response.ids(i), token);
    if (i < response.offsets_size()) {
      std::cout << absl::StrFormat(" [%d, %d)", response.offsets(i).start(),
                                   response.offsets(i).end());
    }
    std::cout << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunHealth(const Args& args, LionClient& client) {
  ASSIGN_OR_RETURN(const HealthStatus status, client.Health(args.Get("service")));
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(status);
  if (args.GetBool("json")) {
    std::cout << nlohmann::json{{"service", args.Get("service")}, {"status", name}}.dump() << "\n";
  } else {
    std::cout << name << "\n";
  }
  if (status != grpc::health::v1::HealthCheckResponse::SERVING) return absl::UnavailableError(name);
  return absl::OkStatus();
}

}  // namespace lion::client::cli
