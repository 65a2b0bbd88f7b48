#include "server/image/preprocess.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"
#include "server/image/decode.h"
#include "server/image/resize.h"

namespace lion::image {
namespace {

absl::Status CheckPerChannel(const std::vector<float>& values, int64_t channels, const char* name,
                             bool positive) {
  if (static_cast<int64_t>(values.size()) != channels) {
    return absl::InvalidArgumentError(absl::StrCat("image options: ", name, " has ", values.size(),
                                                   " entries, expected ", channels,
                                                   " (one per channel)"));
  }
  for (float v : values) {
    if (!std::isfinite(v) || (positive && v <= 0.0f)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image options: ", name, " entry ", v, " must be finite", positive ? " and > 0" : ""));
    }
  }
  return absl::OkStatus();
}

// A client's shape for an error message: at most kMaxShown entries, so that a
// shape of a million entries cannot make the message outgrow gRPC's metadata
// limit (which turned the answer into RESOURCE_EXHAUSTED).
std::string ShapeForMessage(absl::Span<const int64_t> shape) {
  constexpr size_t kMaxShown = 8;
  if (shape.size() <= kMaxShown) return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
  return absl::StrCat("[", absl::StrJoin(shape.subspan(0, kMaxShown), ", "), ", ...] (",
                      shape.size(), " dimensions)");
}

}  // namespace

absl::Status ImageOptions::Validate() const {
  if (channels != 1 && channels != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("image options: channels is ", channels, ", expected 1 or 3"));
  }
  if (max_pixels <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image options: max_pixels is ", max_pixels, ", expected > 0"));
  }
  if (height <= 0 || width <= 0 || height > max_pixels / width) {
    return absl::InvalidArgumentError(absl::StrCat("image options: size ", height, "x", width,
                                                   " must be positive and at most max_pixels (",
                                                   max_pixels, ") pixels"));
  }
  RETURN_IF_ERROR(CheckPerChannel(mean, channels, "mean", /*positive=*/false));
  return CheckPerChannel(std, channels, "std", /*positive=*/true);
}

absl::StatusOr<std::vector<float>> DecodeAndPreprocess(std::string_view encoded,
                                                       const ImageOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  ASSIGN_OR_RETURN(DecodedImage image, DecodeImage(encoded, options.max_pixels));
  // Straight from the 8-bit pixels: no full-size float copy of a large image.
  std::vector<float> out = ResizeBilinearRgb8(image.rgb.data(), options.channels, image.height,
                                              image.width, options.height, options.width);
  const int64_t plane = options.height * options.width;
  for (int64_t c = 0; c < options.channels; ++c) {
    const float mean = options.mean[c];
    const float inv_std = 1.0f / options.std[c];
    float* p = out.data() + c * plane;
    for (int64_t i = 0; i < plane; ++i) p[i] = (p[i] - mean) * inv_std;
  }
  return out;
}

absl::Status ValidatePixels(absl::Span<const float> data, absl::Span<const int64_t> shape,
                            const ImageOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  const std::string expected =
      absl::StrCat("[", options.channels, ", ", options.height, ", ", options.width, "]");
  if (shape.size() != 3 || shape[0] != options.channels || shape[1] != options.height ||
      shape[2] != options.width) {
    return absl::InvalidArgumentError(absl::StrCat("image.pixels: shape ", ShapeForMessage(shape),
                                                   " does not match the model's ", expected));
  }
  // The shape equals the validated options, so the product cannot overflow.
  const int64_t expected_size = options.channels * options.height * options.width;
  if (static_cast<int64_t>(data.size()) != expected_size) {
    return absl::InvalidArgumentError(absl::StrCat("image.pixels: ", data.size(),
                                                   " values for shape ", expected, " (",
                                                   expected_size, " values)"));
  }
  for (size_t i = 0; i < data.size(); ++i) {
    if (!std::isfinite(data[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("image.pixels: value ", i, " is not finite (", data[i], ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace lion::image
