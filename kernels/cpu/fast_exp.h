// Vectorizable exp for the LION mask: every exponent the kernels form is <= 0
// (docs/lion-math.md sections 4.1 and 6), so the range reduction needs no
// overflow handling. Cephes polynomial, max relative error ~2 ulp in [-87, 0];
// below -87.3 returns 0 (the true value is < 1.3e-38, far under fp32 resolution
// of any sum it joins); NaN gives NaN.
#ifndef LION_KERNELS_CPU_FAST_EXP_H_
#define LION_KERNELS_CPU_FAST_EXP_H_

#include <bit>
#include <cmath>
#include <cstdint>

// Tells the compiler a loop's iterations are independent (vectorize it).
#if defined(__clang__)
#define LION_VECTORIZE_LOOP _Pragma("clang loop vectorize(enable)")
#elif defined(__GNUC__)
#define LION_VECTORIZE_LOOP _Pragma("GCC ivdep")
#else
#define LION_VECTORIZE_LOOP
#endif

namespace lion::kernels::internal {

inline float ExpNonPositive(float x) {
  // Written so that NaN takes the clamped branch: converting NaN to an
  // integer below would be undefined; NaN is returned as NaN at the end so
  // that non-finite activations stay detectable downstream.
  const float v = x >= -87.3f ? (x > 0.0f ? 0.0f : x) : -87.3f;
  const float fn = std::floor(v * 1.44269504088896341f + 0.5f);
  const float r = v - fn * 0.693359375f + fn * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = (static_cast<int32_t>(fn) + 127) << 23;
  const float result = p * std::bit_cast<float>(e);
  return x >= -87.3f ? result : (x < -87.3f ? 0.0f : x);
}

// y[i] = exp(x[i]) for x[i] <= 0 (values > 0 are treated as 0). In place is fine.
inline void ExpNonPositive(const float* x, float* y, int64_t n) {
LION_VECTORIZE_LOOP
  for (int64_t i = 0; i < n; ++i) y[i] = ExpNonPositive(x[i]);
}

}  // namespace lion::kernels::internal

#endif  // LION_KERNELS_CPU_FAST_EXP_H_
