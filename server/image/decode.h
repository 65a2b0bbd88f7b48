// Decoding of encoded images (PNG via libpng, JPEG via libjpeg-turbo) into
// 8-bit RGB pixels. No LibTorch, no gRPC.
//
// Every decoder checks the image's dimensions against a pixel-count limit
// after reading the header and BEFORE allocating the pixel buffer, and turns
// every library error or warning into INVALID_ARGUMENT (never exit(), never
// a crash). Thread-safe: no shared state.
#ifndef LION_SERVER_IMAGE_DECODE_H_
#define LION_SERVER_IMAGE_DECODE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lion::image {

// 8-bit RGB pixels, row-major HWC: rgb[(y * width + x) * 3 + c].
struct DecodedImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> rgb;
};

enum class ImageFormat { kUnknown, kPng, kJpeg };

// Identifies the format by its magic bytes (PNG: the 8-byte signature,
// JPEG: FF D8 FF).
ImageFormat DetectFormat(std::string_view encoded);

// Decodes PNG or JPEG (detected by magic bytes) to RGB.
// Conversions: grayscale is replicated to R = G = B; palette images are
// expanded; 16-bit samples (taken as sRGB-encoded unless the file says
// otherwise) are reduced to 8 bits by libpng; an alpha channel
// is dropped (not composited), like PIL's Image.convert("RGB").
// Errors (all INVALID_ARGUMENT): unknown format, width * height > max_pixels,
// truncated or corrupt data (JPEG warnings such as "premature end of data"
// count as errors), unsupported color spaces (e.g. CMYK JPEG).
absl::StatusOr<DecodedImage> DecodeImage(std::string_view encoded, int64_t max_pixels);

// The format-specific decoders behind DecodeImage (same contract).
absl::StatusOr<DecodedImage> DecodePng(std::string_view encoded, int64_t max_pixels);
absl::StatusOr<DecodedImage> DecodeJpeg(std::string_view encoded, int64_t max_pixels);

// Shared dimension check: INVALID_ARGUMENT unless 0 < width, 0 < height and
// width * height <= max_pixels (computed without overflow).
absl::Status CheckDimensions(int64_t width, int64_t height, int64_t max_pixels, const char* format);

}  // namespace lion::image

#endif  // LION_SERVER_IMAGE_DECODE_H_
