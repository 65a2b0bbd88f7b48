#include "server/runtime/form_policy.h"

#include <algorithm>

namespace lion::runtime {

int64_t AttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                             int64_t length, int64_t chunk_size) {
  const int64_t d = dims.head_dim;
  const int64_t c = std::max<int64_t>(1, std::min(chunk_size, length));
  int64_t per_problem = 0;
  switch (form) {
    case kernels::Form::kFull:
      per_problem = 2 * length * length;
      break;
    case kernels::Form::kChunk:
      per_problem = 2 * length * c + 2 * ((length + c - 1) / c) * d * d;
      break;
    case kernels::Form::kRnn:
      per_problem = 2 * d * (d + 1);
      break;
  }
  return per_problem * batch * dims.heads * dims.orders * static_cast<int64_t>(sizeof(float));
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
