#include "server/image/decode.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lion::image {

ImageFormat DetectFormat(std::string_view encoded) {
  static constexpr unsigned char kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  static constexpr unsigned char kJpegMagic[3] = {0xFF, 0xD8, 0xFF};
  if (encoded.size() >= sizeof(kPngMagic) &&
      std::memcmp(encoded.data(), kPngMagic, sizeof(kPngMagic)) == 0) {
    return ImageFormat::kPng;
  }
  if (encoded.size() >= sizeof(kJpegMagic) &&
      std::memcmp(encoded.data(), kJpegMagic, sizeof(kJpegMagic)) == 0) {
    return ImageFormat::kJpeg;
  }
  return ImageFormat::kUnknown;
}

absl::Status CheckDimensions(int64_t width, int64_t height, int64_t max_pixels,
                             const char* format) {
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image: ", format, " has invalid dimensions ", width, "x", height));
  }
  // width, height <= 2^32 here (both decoders report 32-bit sizes), so the
  // product fits in int64.
  if (width > (int64_t{1} << 32) || height > (int64_t{1} << 32) || width * height > max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat("image: ", format, " is ", width, "x", height,
                                                   " pixels, more than the limit of ", max_pixels,
                                                   " pixels"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DecodedImage> DecodeImage(std::string_view encoded, int64_t max_pixels) {
  switch (DetectFormat(encoded)) {
    case ImageFormat::kPng:
      return DecodePng(encoded, max_pixels);
    case ImageFormat::kJpeg:
      return DecodeJpeg(encoded, max_pixels);
    case ImageFormat::kUnknown:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("image.encoded: unrecognised format (", encoded.size(),
                   " bytes; expected PNG or JPEG by their magic bytes)"));
}

}  // namespace lion::image
