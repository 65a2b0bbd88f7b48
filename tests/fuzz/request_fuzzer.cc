// Fuzz target: request validation as the API does it. Byte 0 picks the RPC
// (Classify, Embed, FillMask) and the served model (the default models:
// lion-mlm-mini, text MLM; lion-digits, vision classification); the rest is
// parsed as that lion.v1 request message, then turned into a runtime request
// by the API's Task::Build (input decoding: tokenizer, token ids, PNG/JPEG or
// raw pixels). Invariants:
//  - a refused request gets INVALID_ARGUMENT or FAILED_PRECONDITION with a
//    message short enough for gRPC's metadata (user values must not be
//    echoed whole);
//  - a built request is one the model can take: 1 <= length <= the model's
//    max_input_tokens, ids inside the embedding table, [MASK] at every
//    FillMask position, image pixels of the model's exact shape, all finite;
//  - the model's Forward accepts it (run for inputs up to kMaxForwardTokens,
//    to keep runs fast): a built request never fails the batch it joins.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/api/tasks.h"
#include "server/repository/served_model.h"
#include "server/config/server_options.h"
#include "server/runtime/torch_model.h"
#include "tests/fuzz/fuzz_util.h"

namespace lion::fuzz {
namespace {

constexpr int64_t kMaxForwardTokens = 512;
constexpr size_t kMaxErrorBytes = 1024;

struct Served {
  std::unique_ptr<runtime::Model> model;
  repository::ServedModel served;
};

Served* Load(const std::string& name) {
  const std::string dir = SourceDir() + "/models/" + name;
  auto* s = new Served;
  runtime::TorchModelOptions options;
  options.threads = 1;
  auto model = runtime::LoadTorchModel(dir, options);
  CheckSetup(model.status(), name.c_str());
  s->model = *std::move(model);
  // As lion-serve serves it with its default flags (server/main.cc).
  const config::ServerOptions flags;
  s->served.description = s->model->description();
  const runtime::ModelDescription& d = s->served.description;
  s->served.max_input_tokens = d.max_input_tokens > 0
                                   ? std::min(d.max_input_tokens, flags.max_input_tokens)
                                   : flags.max_input_tokens;
  s->served.max_text_bytes = flags.max_text_bytes;
  s->served.max_response_bytes = flags.max_message_bytes;
  if (d.architecture != runtime::Architecture::kVit) {
    auto tokenizer = repository::LoadTokenizer(dir, d.vocab_size);
    CheckSetup(tokenizer.status(), "tokenizer");
    s->served.tokenizer = *std::move(tokenizer);
  }
  return s;
}

Served& Model(bool vision) {
  static Served* mlm = Load("lion-mlm-mini");
  static Served* digits = Load("lion-digits");
  return vision ? *digits : *mlm;
}

void CheckBuilt(const runtime::Request& r, Served& s) {
  const runtime::ModelDescription& d = s.served.description;
  const runtime::SequenceInput& in = r.input;
  FUZZ_CHECK(r.length >= 1, absl::StrCat("length ", r.length));
  if (d.architecture == runtime::Architecture::kVit) {
    FUZZ_CHECK(in.is_image() && in.token_ids.empty(), "vision input without pixels");
    FUZZ_CHECK(
        in.channels == d.num_channels && in.height == d.image_size && in.width == d.image_size,
        absl::StrCat("image ", in.channels, "x", in.height, "x", in.width));
    FUZZ_CHECK(in.pixels.size() == static_cast<size_t>(in.channels * in.height * in.width),
               absl::StrCat(in.pixels.size(), " pixel values"));
    for (size_t i = 0; i < in.pixels.size(); ++i) {
      FUZZ_CHECK(std::isfinite(in.pixels[i]), absl::StrCat("pixel ", i, " = ", in.pixels[i]));
    }
  } else {
    FUZZ_CHECK(!in.is_image(), "text model given pixels");
    FUZZ_CHECK(r.length == static_cast<int64_t>(in.token_ids.size()) &&
                   r.length <= s.served.max_input_tokens,
               absl::StrCat("length ", r.length, ", ", in.token_ids.size(), " ids, limit ",
                            s.served.max_input_tokens));
    for (int32_t id : in.token_ids) {
      FUZZ_CHECK(id >= 0 && id < d.vocab_size, absl::StrCat("token id ", id));
    }
  }
  for (int32_t p : r.outputs.mlm_positions) {
    FUZZ_CHECK(p >= 0 && static_cast<size_t>(p) < in.token_ids.size() &&
                   in.token_ids[p] == s.served.tokenizer->mask_id(),
               absl::StrCat("mask position ", p));
  }
  if (r.length > kMaxForwardTokens) return;
  runtime::BatchOptions options;
  options.form = r.forced_form.value_or(kernels::Form::kFull);
  const auto out = s.model->Forward({&in}, {&r.outputs}, options);
  FUZZ_CHECK(out.ok(), out.status().ToString());
  FUZZ_CHECK(out->size() == 1, "one output per input");
}

template <typename Task>
void Run(const uint8_t* data, size_t size, Served& s) {
  typename Task::Req req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return;
  auto built = Task::Build(req, s.served, /*should_stop=*/{});
  if (!built.ok()) {
    const absl::StatusCode code = built.status().code();
    FUZZ_CHECK(
        code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kFailedPrecondition,
        built.status().ToString().substr(0, 2000));
    FUZZ_CHECK(built.status().message().size() <= kMaxErrorBytes,
               absl::StrCat(Task::kMethod, ": error message of ", built.status().message().size(),
                            " bytes: ", built.status().message().substr(0, 300)));
    return;
  }
  CheckBuilt(**built, s);
}

int TestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Served& s = Model((data[0] & 1) != 0);
  switch ((data[0] >> 1) % 3) {
    case 0:
      Run<api::ClassifyTask>(data + 1, size - 1, s);
      break;
    case 1:
      Run<api::EmbedTask>(data + 1, size - 1, s);
      break;
    default:
      Run<api::FillMaskTask>(data + 1, size - 1, s);
      break;
  }
  return 0;
}

}  // namespace
}  // namespace lion::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  lion::fuzz::Model(false);  // load both models before the first input
  lion::fuzz::Model(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lion::fuzz::TestOneInput(data, size);
}
