#include "server/runtime/form_policy.h"

#include <algorithm>

#include "lion/kernels/lion_attention.h"

namespace lion::runtime {

int64_t AttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                             int64_t length, int64_t chunk_size) {
  return dims.orders * kernels::AttentionWorkspaceBytes(form, batch, dims.heads, length,
                                                        dims.head_dim, chunk_size);
}

kernels::Form ChooseForm(const FormLimits& limits, const AttentionDims& dims, int64_t batch,
                         int64_t padded_length) {
  using kernels::Form;
  const FormThresholds th = batch == 1 && limits.single.has_value()
                                ? *limits.single
                                : FormThresholds{limits.full_max_tokens, limits.rnn_min_tokens};
  if (th.rnn_min_tokens > 0 && padded_length >= th.rnn_min_tokens) return Form::kRnn;
  auto fits = [&](Form f) {
    return AttentionMemoryBytes(f, dims, batch, padded_length, limits.chunk_size) <=
           limits.memory_budget_bytes;
  };
  if (padded_length <= th.full_max_tokens && fits(Form::kFull)) return Form::kFull;
  if (fits(Form::kChunk)) return Form::kChunk;
  return Form::kRnn;
}

}  // namespace lion::runtime
