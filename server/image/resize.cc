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

}  // namespace

std::vector<float> ResizeBilinear(const std::vector<float>& src, int64_t channels, int64_t in_h,
                                  int64_t in_w, int64_t out_h, int64_t out_w) {
  if (in_h == out_h && in_w == out_w) return src;
  const AxisTaps rows = ComputeTaps(in_h, out_h);
  const AxisTaps cols = ComputeTaps(in_w, out_w);
  std::vector<float> dst(static_cast<size_t>(channels * out_h * out_w));
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = src.data() + c * in_h * in_w;
    float* out_plane = dst.data() + c * out_h * out_w;
    for (int64_t y = 0; y < out_h; ++y) {
      const float* r0 = plane + rows.lo[y] * in_w;
      const float* r1 = plane + rows.hi[y] * in_w;
      const float fy = rows.frac[y];
      for (int64_t x = 0; x < out_w; ++x) {
        const float fx = cols.frac[x];
        const float top = (1.0f - fx) * r0[cols.lo[x]] + fx * r0[cols.hi[x]];
        const float bottom = (1.0f - fx) * r1[cols.lo[x]] + fx * r1[cols.hi[x]];
        out_plane[y * out_w + x] = (1.0f - fy) * top + fy * bottom;
      }
    }
  }
  return dst;
}

}  // namespace lion::image
