// Shared inputs and comparisons for the kernel tests.
#ifndef LION_TESTS_KERNELS_ATTENTION_TEST_UTIL_H_
#define LION_TESTS_KERNELS_ATTENTION_TEST_UTIL_H_

#include <string>

#include <ATen/ATen.h>

#include "lion/kernels/attention_options.h"

namespace lion::kernels::testing {

enum class Variant { kLit, kD, kS };
const char* VariantName(Variant v);

// Random inputs for one call. positive: q, k after a strictly positive feature
// map (vision); otherwise signed (MLM). decay_scale stretches the selective
// pre-activations (large values give lambda near 0 and near 1).
struct Inputs {
  at::Tensor q, k, v, g;  // [B,H,L,d], [B,H,L,d], [B,H,L,d], [B,H,L]
};
Inputs MakeInputs(Variant variant, int64_t B, int64_t H, int64_t L, int64_t d, bool positive,
                  uint64_t seed, double decay_scale = 2.5, double fixed_lambda = -1.0);

// The scalar reference's output y [B,H,L,dv] for these inputs.
at::Tensor ReferenceOutput(const Inputs& in, const at::Tensor& lengths,
                           const AttentionOptions& options);

// max |a - b| / max(max |a|, max |b|), as rel_err of python/lionserve/oracle.py
// measures; 0 when both are 0.
double RelErr(const at::Tensor& a, const at::Tensor& b);

}  // namespace lion::kernels::testing

#endif  // LION_TESTS_KERNELS_ATTENTION_TEST_UTIL_H_
