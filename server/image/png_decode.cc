// PNG decoding through libpng's simplified API (png_image_*): it handles every
// color type, bit depth and interlacing, and catches libpng's longjmp
// internally, so no setjmp is needed here.
#include <png.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/image/decode.h"

namespace lion::image {
namespace {

// Frees libpng's state on every path; png_image_free is a no-op when the
// image was already released (image->opaque == nullptr).
class PngImageGuard {
 public:
  explicit PngImageGuard(png_image* image) : image_(image) {}
  ~PngImageGuard() { png_image_free(image_); }
  PngImageGuard(const PngImageGuard&) = delete;
  PngImageGuard& operator=(const PngImageGuard&) = delete;

 private:
  png_image* image_;
};

absl::Status PngError(const png_image& image, const char* stage) {
  return absl::InvalidArgumentError(
      absl::StrCat("image.encoded: invalid PNG (", stage, "): ", image.message));
}

}  // namespace

absl::StatusOr<DecodedImage> DecodePng(std::string_view encoded, int64_t max_pixels) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  PngImageGuard guard(&image);
  if (!png_image_begin_read_from_memory(&image, encoded.data(), encoded.size())) {
    return PngError(image, "header");
  }
  RETURN_IF_ERROR(CheckDimensions(image.width, image.height, max_pixels, "PNG"));

  // Read alpha images as RGBA and drop alpha ourselves: asking libpng for RGB
  // would composite onto a background instead.
  const bool has_alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  image.format = has_alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
  // Without this flag libpng takes 16-bit samples without a gAMA/sRGB chunk
  // as linear light and gamma-encodes them; like every other reader we take
  // them as sRGB-encoded, so 16-bit v becomes about v / 257.
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  DecodedImage out;
  out.width = image.width;
  out.height = image.height;
  const int64_t pixels = out.width * out.height;
  std::vector<uint8_t> buffer(static_cast<size_t>(pixels) * (has_alpha ? 4 : 3));
  if (!png_image_finish_read(&image, /*background=*/nullptr, buffer.data(), /*row_stride=*/0,
                             /*colormap=*/nullptr)) {
    return PngError(image, "data");
  }
  if (!has_alpha) {
    out.rgb = std::move(buffer);
    return out;
  }
  out.rgb.resize(static_cast<size_t>(pixels) * 3);
  for (int64_t i = 0; i < pixels; ++i) {
    std::memcpy(&out.rgb[i * 3], &buffer[i * 4], 3);
  }
  return out;
}

}  // namespace lion::image
