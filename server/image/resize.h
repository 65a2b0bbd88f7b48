// Bilinear resize of float CHW images, and of 8-bit RGB images into float CHW.
#ifndef LION_SERVER_IMAGE_RESIZE_H_
#define LION_SERVER_IMAGE_RESIZE_H_

#include <cstdint>
#include <vector>

namespace lion::image {

// Resizes `src` ([channels, in_h, in_w], row-major) to [channels, out_h, out_w].
//
// The method is exactly PyTorch's
//   torch.nn.functional.interpolate(x, size=(out_h, out_w), mode="bilinear",
//                                   align_corners=False, antialias=False)
// (half-pixel centres): for each output column x the source coordinate is
//   s = max(0, (x + 0.5) * in_w / out_w - 0.5),  x0 = floor(s),
//   x1 = min(x0 + 1, in_w - 1),  f = s - x0,  value = (1 - f) * p[x0] + f * p[x1],
// and the same along rows; no antialiasing when shrinking. Equal sizes copy.
// Preconditions (checked by the caller): all sizes > 0,
// src.size() == channels * in_h * in_w.
std::vector<float> ResizeBilinear(const std::vector<float>& src, int64_t channels, int64_t in_h,
                                  int64_t in_w, int64_t out_h, int64_t out_w);

// The same resize, bit for bit, of the [0, 1]-scaled planes of 8-bit RGB
// pixels rgb[(y * in_w + x) * 3 + c]: for channels == 3 each channel v / 255,
// for channels == 1 the luminance (0.299 R + 0.587 G + 0.114 B) / 255. Only
// the pixels the taps read are converted, so a large image is never copied to
// full-size float planes (12 bytes per pixel: 480 MB at 40 megapixels).
// Equal sizes convert every pixel. Preconditions as above, channels 1 or 3,
// rgb holds in_h * in_w * 3 bytes.
std::vector<float> ResizeBilinearRgb8(const uint8_t* rgb, int64_t channels, int64_t in_h,
                                      int64_t in_w, int64_t out_h, int64_t out_w);

}  // namespace lion::image

#endif  // LION_SERVER_IMAGE_RESIZE_H_
