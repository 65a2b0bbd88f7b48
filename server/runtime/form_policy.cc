#include "server/runtime/form_policy.h"

#include <algorithm>

#include "lion/kernels/lion_attention.h"
#include "lion/kernels/lion_attention_cuda.h"

namespace lion::runtime {

int64_t AttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                             int64_t length, int64_t chunk_size) {
  return dims.orders * kernels::AttentionWorkspaceBytes(form, batch, dims.heads, length,
                                                        dims.head_dim, chunk_size);
}

int64_t CudaAttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                                 int64_t length) {
  const kernels::AttentionShape shape{batch, dims.heads, length, dims.head_dim, dims.head_dim};
  const int64_t rows = batch * dims.heads * length * (dims.head_dim + 1) * 4;
  return dims.orders *
         (static_cast<int64_t>(kernels::LionAttentionCudaWorkspaceBytes(form, shape)) + rows);
}

int64_t GpuMemoryBudget(int64_t free_bytes, int64_t flag_bytes, int64_t default_flag_bytes) {
  if (flag_bytes != default_flag_bytes)
    return std::min(flag_bytes, std::max<int64_t>(free_bytes, 1));
  return std::max<int64_t>(free_bytes / 2, 1);
}

kernels::Form ChooseForm(const FormLimits& limits, const AttentionDims& dims, int64_t batch,
                         int64_t padded_length) {
  using kernels::Form;
  const FormThresholds th = batch == 1 && limits.single.has_value()
                                ? *limits.single
                                : FormThresholds{limits.full_max_tokens, limits.rnn_min_tokens};
  if (th.rnn_min_tokens > 0 && padded_length >= th.rnn_min_tokens) return Form::kRnn;
  auto fits = [&](Form f) {
    const int64_t bytes =
        limits.cuda ? CudaAttentionMemoryBytes(f, dims, batch, padded_length)
                    : AttentionMemoryBytes(f, dims, batch, padded_length, limits.chunk_size);
    return bytes <= limits.memory_budget_bytes;
  };
  if (padded_length <= th.full_max_tokens && fits(Form::kFull)) return Form::kFull;
  if (fits(Form::kChunk)) return Form::kChunk;
  return Form::kRnn;
}

}  // namespace lion::runtime
