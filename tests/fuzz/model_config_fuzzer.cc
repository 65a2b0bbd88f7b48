// Fuzz target: config.json parsing (ModelConfig::FromJson). Invariants: the
// only error is INVALID_ARGUMENT; an accepted config passes Validate() again
// and keeps every documented bound (the sizes the server allocates from).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/model/model_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace lion::fuzz {
namespace {

using model::ModelConfig;

int TestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(text);
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument, c.status().ToString());
    return 0;
  }
  FUZZ_CHECK(c->Validate().ok(), c->Validate().ToString());
  FUZZ_CHECK(c->hidden_size > 0 && c->hidden_size <= ModelConfig::kMaxHiddenSize, "hidden_size");
  FUZZ_CHECK(c->num_heads > 0 && c->hidden_size % c->num_heads == 0, "num_heads");
  FUZZ_CHECK(c->num_layers > 0 && c->num_layers <= ModelConfig::kMaxLayers, "num_layers");
  FUZZ_CHECK(c->max_input_tokens >= 0 && c->max_input_tokens <= ModelConfig::kMaxInputTokens,
             "max_input_tokens");
  if (c->is_vit()) {
    FUZZ_CHECK(c->image_size > 0 && c->image_size <= ModelConfig::kMaxImageSize, "image_size");
    const int64_t side = c->image_size / c->patch_size;
    FUZZ_CHECK(c->image_size % c->patch_size == 0 && side * side <= ModelConfig::kMaxPatches,
               "patches");
    FUZZ_CHECK(static_cast<int64_t>(c->image_std.size()) == c->num_channels, "image_std");
  } else {
    FUZZ_CHECK(c->is_bert() && c->vocab_size > 0 && c->vocab_size <= ModelConfig::kMaxVocabSize,
               "vocab_size");
    FUZZ_CHECK(c->pad_token_id >= 0 && c->pad_token_id < c->vocab_size, "pad_token_id");
  }
  return 0;
}

}  // namespace
}  // namespace lion::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lion::fuzz::TestOneInput(data, size);
}
