// The scalar reference of the LION attention core: the mask of
// docs/lion-math.md section 2.1 built from its product definition (as log-sums
// in double) and applied to every (query, key) pair, accumulating in double.
// O(L^2 (dk + dv)) per head. It ignores options.form (the answer does not
// depend on it): it is the ground truth that every optimized form is compared
// with.
#ifndef LION_KERNELS_LION_ATTENTION_REFERENCE_H_
#define LION_KERNELS_LION_ATTENTION_REFERENCE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "lion/kernels/attention_options.h"

namespace lion::kernels {

// Computes num [B,H,L,dv] and den [B,H,L] (both already multiplied by
// options.scale) for right-padded sequences; rows at or past lengths[b] are 0.
// `lengths` may be null (every sequence has length L). Outputs are written,
// not accumulated. Thread-compatible: pure function of its inputs.
absl::Status LionAttentionNumDenReference(const AttentionShape& shape, const float* q,
                                          const float* k, const float* v, const float* g,
                                          const int64_t* lengths, const AttentionOptions& options,
                                          double* num, double* den);

// The finished output y [B,H,L,dv] (normalised or not, per options).
absl::Status LionAttentionReference(const AttentionShape& shape, const float* q, const float* k,
                                    const float* v, const float* g, const int64_t* lengths,
                                    const AttentionOptions& options, float* out);

// Two-order ("natural") variant, docs/lion-math.md section 7, for one sequence
// length L and no padding: orders[m][p] is the token at position p of order m,
// and g_orders[m] ([B,H,L]) holds the log-decays indexed by position in order
// m. The numerators and denominators of the orders are added before dividing.
absl::Status LionAttentionMultiOrderReference(const AttentionShape& shape, const float* q,
                                              const float* k, const float* v, int num_orders,
                                              const int64_t* const* orders,
                                              const float* const* g_orders,
                                              const AttentionOptions& options, float* out);

}  // namespace lion::kernels

#endif  // LION_KERNELS_LION_ATTENTION_REFERENCE_H_
