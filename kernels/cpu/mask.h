// The LION mask applied to blocks of attention scores (docs/lion-math.md
// section 2.1), shared by the full and chunk forms. Rows [i0, i1) of an L x L
// score matrix are multiplied by c * M[i, :], with M built from G, the
// exclusive prefix sum of the log-decays in double (G[0] = 0, length L + 1).
// Outside the diagonal block the mask of a row block is rank one with both
// factors <= 1:
//   j < i0:  M[i,j] = exp(G_i - G_i0) * exp(G_i0 - G_j)
//   j >= i1: M[i,j] = exp(G_{j+1} - G_i1) * exp(G_i1 - G_{i+1})
// so only the diagonal block needs an exp per element; every exponent is
// formed in double and is <= 0.
#ifndef LION_KERNELS_CPU_MASK_H_
#define LION_KERNELS_CPU_MASK_H_

#include <cstdint>
#include <vector>

namespace lion::kernels::internal {

// Per-thread scratch for one score matrix width and row-block size.
struct MaskScratch {
  MaskScratch(int64_t width, int64_t block) : col(width), diag(block) {}
  std::vector<float> col;   // column factors
  std::vector<float> diag;  // one row of the diagonal block
};

// scores: rows [i0, i1) of the matrix, row-major with stride L. lit: every
// decay is 0 (the mask is all ones): scale only.
void ApplyMaskRows(float* scores, int64_t i0, int64_t i1, int64_t L, const double* G, float c,
                   bool lit, MaskScratch& scratch);

}  // namespace lion::kernels::internal

#endif  // LION_KERNELS_CPU_MASK_H_
