#include "cpu/mask.h"

#include "cpu/fast_exp.h"

namespace lion::kernels::internal {

void ApplyMaskRows(float* scores, int64_t i0, int64_t i1, int64_t L, const double* G, float c,
                   bool lit, MaskScratch& m) {
  if (lit) {
    for (int64_t e = 0; e < (i1 - i0) * L; ++e) scores[e] *= c;
    return;
  }
  float* col = m.col.data();
  for (int64_t j = 0; j < i0; ++j) col[j] = static_cast<float>(G[i0] - G[j]);
  for (int64_t j = i1; j < L; ++j) col[j] = static_cast<float>(G[j + 1] - G[i1]);
  ExpNonPositive(col, col, i0);
  ExpNonPositive(col + i1, col + i1, L - i1);
  for (int64_t i = i0; i < i1; ++i) {
    float* s = scores + (i - i0) * L;
    const float below = c * ExpNonPositive(static_cast<float>(G[i] - G[i0]));
    const float above = c * ExpNonPositive(static_cast<float>(G[i1] - G[i + 1]));
    for (int64_t j = 0; j < i0; ++j) s[j] *= below * col[j];
    for (int64_t j = i1; j < L; ++j) s[j] *= above * col[j];
    float* t = m.diag.data();
    for (int64_t j = i0; j < i; ++j) t[j - i0] = static_cast<float>(G[i] - G[j]);
    t[i - i0] = 0.0f;
    for (int64_t j = i + 1; j < i1; ++j) t[j - i0] = static_cast<float>(G[j + 1] - G[i + 1]);
    ExpNonPositive(t, t, i1 - i0);
    for (int64_t j = i0; j < i1; ++j) s[j] *= c * t[j - i0];
  }
}

}  // namespace lion::kernels::internal
