// Image preprocessing for vision models: encoded PNG/JPEG bytes -> float32
// CHW pixels normalised for the model, and validation of raw pixel tensors.
// No LibTorch, no gRPC. All functions are thread-safe (no shared state).
#ifndef LION_SERVER_IMAGE_PREPROCESS_H_
#define LION_SERVER_IMAGE_PREPROCESS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace lion::image {

// What the model expects (from config.json: num_channels, image_size,
// image_mean, image_std). Copyable.
struct ImageOptions {
  int64_t channels = 3;  // 3 = RGB, 1 = grayscale
  int64_t height = 224;
  int64_t width = 224;
  std::vector<float> mean = {0.5f, 0.5f, 0.5f};  // per channel, after scaling to [0, 1]
  std::vector<float> std = {0.5f, 0.5f, 0.5f};   // per channel, > 0
  // Largest decoded image accepted (width * height), checked from the image
  // header before any pixel buffer is allocated.
  int64_t max_pixels = 40'000'000;

  // INVALID_ARGUMENT unless channels is 1 or 3, height and width > 0 with
  // height * width <= max_pixels, mean/std have `channels` finite entries,
  // every std > 0.
  absl::Status Validate() const;
};

// Decodes `encoded` (PNG or JPEG, detected by magic bytes; see decode.h for
// the accepted variants and errors) and returns float32 [channels, height,
// width] pixels, row-major. Steps, in order:
//   1. decode to 8-bit RGB (alpha dropped, grayscale replicated);
//   2. scale to [0, 1]: v / 255;
//   3. for channels == 1, luminance 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2,
//      the formula of PIL's convert("L"), without its rounding to 8 bits);
//   4. bilinear resize to height x width (resize.h: PyTorch's bilinear,
//      align_corners=False, no antialias), skipped when the size matches;
//   5. normalise: (v - mean[c]) / std[c].
// Errors: INVALID_ARGUMENT for invalid options, unknown format, too many
// pixels, truncated or corrupt data. Never crashes on any input bytes.
absl::StatusOr<std::vector<float>> DecodeAndPreprocess(std::string_view encoded,
                                                       const ImageOptions& options);

// Checks a raw float32 CHW tensor sent instead of an encoded image: shape
// must be exactly [options.channels, options.height, options.width],
// data.size() must equal its product, every value must be finite. The values
// are taken as already normalised. INVALID_ARGUMENT naming `image.pixels`
// and the expected shape otherwise.
absl::Status ValidatePixels(absl::Span<const float> data, absl::Span<const int64_t> shape,
                            const ImageOptions& options);

}  // namespace lion::image

#endif  // LION_SERVER_IMAGE_PREPROCESS_H_
