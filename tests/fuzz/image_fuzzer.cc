// Fuzz target: encoded image -> model pixels (image::DecodeAndPreprocess,
// PNG and JPEG), with the options the server derives from a model's config.
// Byte 0 picks the options: the default lion-digits model (1 channel, 8x8),
// an RGB 224x224 ImageNet-style model, or an RGB 32x48 one; the rest is the
// encoded image. max_pixels is the server's (the ImageOptions default).
// Invariants: the only error is INVALID_ARGUMENT; a result has exactly
// channels x height x width values, all finite.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/image/preprocess.h"
#include "tests/fuzz/fuzz_util.h"

namespace lion::fuzz {
namespace {

image::ImageOptions Options(uint8_t selector) {
  image::ImageOptions o;
  switch (selector % 3) {
    case 0:  // models/lion-digits/config.json
      o.channels = 1;
      o.height = o.width = 8;
      o.mean = {0.3048839f};
      o.std = {0.3758727f};
      break;
    case 1:
      o.channels = 3;
      o.height = o.width = 224;
      o.mean = {0.485f, 0.456f, 0.406f};
      o.std = {0.229f, 0.224f, 0.225f};
      break;
    default:
      o.channels = 3;
      o.height = 32;
      o.width = 48;
      o.mean = {0.5f, 0.5f, 0.5f};
      o.std = {0.5f, 0.5f, 0.5f};
      break;
  }
  return o;
}

int TestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const image::ImageOptions options = Options(data[0]);
  const std::string_view encoded(reinterpret_cast<const char*>(data + 1), size - 1);
  const absl::StatusOr<std::vector<float>> pixels = image::DecodeAndPreprocess(encoded, options);
  if (!pixels.ok()) {
    FUZZ_CHECK(pixels.status().code() == absl::StatusCode::kInvalidArgument,
               pixels.status().ToString());
    return 0;
  }
  const size_t expected = static_cast<size_t>(options.channels * options.height * options.width);
  FUZZ_CHECK(pixels->size() == expected, absl::StrCat(pixels->size(), " values"));
  for (size_t i = 0; i < pixels->size(); ++i) {
    FUZZ_CHECK(std::isfinite((*pixels)[i]), absl::StrCat("value ", i, " = ", (*pixels)[i]));
  }
  return 0;
}

}  // namespace
}  // namespace lion::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lion::fuzz::TestOneInput(data, size);
}
