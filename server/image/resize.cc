#include "server/image/resize.h"

#include <algorithm>
#include <cmath>

namespace lion::image {
namespace {

// Source taps for one axis: out[i] = (1 - frac[i]) * in[lo[i]] + frac[i] * in[hi[i]].
struct AxisTaps {
  std::vector<int64_t> lo, hi;
  std::vector<float> frac;
};

AxisTaps ComputeTaps(int64_t in, int64_t out) {
  AxisTaps taps;
  taps.lo.resize(out);
  taps.hi.resize(out);
  taps.frac.resize(out);
  // Float arithmetic, as PyTorch uses for float input (its accscalar_t), so
  // results agree to float rounding.
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t i = 0; i < out; ++i) {
    const float s = std::max(0.0f, (static_cast<float>(i) + 0.5f) * scale - 0.5f);
    const int64_t lo = std::min(static_cast<int64_t>(s), in - 1);
    taps.lo[i] = lo;
    taps.hi[i] = std::min(lo + 1, in - 1);
    taps.frac[i] = s - static_cast<float>(lo);
  }
  return taps;
}

// The resize of ResizeBilinear over any source: sample(c, y, x) is the
// source value of channel c at row y, column x.
template <typename Sample>
std::vector<float> Resize(Sample sample, int64_t channels, int64_t in_h, int64_t in_w,
                          int64_t out_h, int64_t out_w) {
  std::vector<float> dst(static_cast<size_t>(channels * out_h * out_w));
  if (in_h == out_h && in_w == out_w) {
    float* out = dst.data();
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t y = 0; y < in_h; ++y) {
        for (int64_t x = 0; x < in_w; ++x) *out++ = sample(c, y, x);
      }
    }
    return dst;
  }
  const AxisTaps rows = ComputeTaps(in_h, out_h);
  const AxisTaps cols = ComputeTaps(in_w, out_w);
  for (int64_t c = 0; c < channels; ++c) {
    float* out_plane = dst.data() + c * out_h * out_w;
    for (int64_t y = 0; y < out_h; ++y) {
      const int64_t y0 = rows.lo[y], y1 = rows.hi[y];
      const float fy = rows.frac[y];
      for (int64_t x = 0; x < out_w; ++x) {
        const int64_t x0 = cols.lo[x], x1 = cols.hi[x];
        const float fx = cols.frac[x];
        const float top = (1.0f - fx) * sample(c, y0, x0) + fx * sample(c, y0, x1);
        const float bottom = (1.0f - fx) * sample(c, y1, x0) + fx * sample(c, y1, x1);
        out_plane[y * out_w + x] = (1.0f - fy) * top + fy * bottom;
      }
    }
  }
  return dst;
}

}  // namespace

std::vector<float> ResizeBilinear(const std::vector<float>& src, int64_t channels, int64_t in_h,
                                  int64_t in_w, int64_t out_h, int64_t out_w) {
  if (in_h == out_h && in_w == out_w) return src;
  const float* data = src.data();
  const int64_t plane = in_h * in_w;
  return Resize([=](int64_t c, int64_t y, int64_t x) { return data[c * plane + y * in_w + x]; },
                channels, in_h, in_w, out_h, out_w);
}

std::vector<float> ResizeBilinearRgb8(const uint8_t* rgb, int64_t channels, int64_t in_h,
                                      int64_t in_w, int64_t out_h, int64_t out_w) {
  constexpr float kScale = 1.0f / 255.0f;
  if (channels == 3) {
    return Resize(
        [=](int64_t c, int64_t y, int64_t x) { return rgb[(y * in_w + x) * 3 + c] * kScale; },
        channels, in_h, in_w, out_h, out_w);
  }
  // ITU-R 601-2 luminance, the formula of PIL's convert("L") without its
  // rounding to 8 bits.
  return Resize(
      [=](int64_t, int64_t y, int64_t x) {
        const uint8_t* p = rgb + (y * in_w + x) * 3;
        return (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * kScale;
      },
      channels, in_h, in_w, out_h, out_w);
}

}  // namespace lion::image
