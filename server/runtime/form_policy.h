// The form policy: which LION attention form computes a batch. Pure functions
// of the limits, the model's attention shape and the padded batch shape.
//   1. RNN at or above rnn_min_tokens (when set);
//   2. full up to full_max_tokens, if its working memory fits the budget;
//   3. chunk, if its working memory fits the budget;
//   4. otherwise RNN (smallest memory).
#ifndef LION_SERVER_RUNTIME_FORM_POLICY_H_
#define LION_SERVER_RUNTIME_FORM_POLICY_H_

#include <cstdint>
#include <optional>

#include "lion/kernels/attention_options.h"

namespace lion::runtime {

// Where the full form stops and the RNN form starts, by padded length.
struct FormThresholds {
  int64_t full_max_tokens = 0;
  int64_t rnn_min_tokens = 0;  // 0 = RNN only when memory demands it
};

// Limits in force (calibrated, or pinned by flags). Copyable.
struct FormLimits {
  int64_t full_max_tokens = 512;
  int64_t chunk_size = 64;
  int64_t rnn_min_tokens = 0;  // 0 = RNN only when memory demands it
  int64_t memory_budget_bytes = int64_t{1} << 30;
  // The model runs on a GPU: memory is the CUDA kernels' (their workspace and
  // outputs, all O(L): the full form has no L x L buffer there), and the full
  // form's reach is the calibrated full_max_tokens alone.
  bool cuda = false;
  // Thresholds for a batch of one request (a lone request and a batch can
  // favour different forms); unset = the ones above.
  std::optional<FormThresholds> single;
};

// The attention shape that drives memory: heads and per-head width.
struct AttentionDims {
  int64_t heads = 1;
  int64_t head_dim = 64;
  int64_t orders = 1;  // two-order ("natural") vision models run two scans
};

// Bytes of attention memory one layer of `form` needs for a [batch, length]
// padded batch: what the kernels allocate (kernels::AttentionWorkspaceBytes,
// outputs included), for each order of a two-order model. On the CPU the RNN
// form needs the least (its output and two d x d states), the chunk form adds
// O(L d^2 / C) carries per thread, the full form O(threads x 64 x L) score
// rows but O(L^2) time, which the calibrated full_max_tokens bounds.
int64_t AttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                             int64_t length, int64_t chunk_size);
// The same on a GPU: per order, the CUDA kernels' workspace
// (kernels::LionAttentionCudaWorkspaceBytes) plus float32 [num | den] rows.
int64_t CudaAttentionMemoryBytes(kernels::Form form, const AttentionDims& dims, int64_t batch,
                                 int64_t length);

// The memory budget on a GPU with `free_bytes` free once the model is loaded:
// half of it (the rest for the dense layers' activations and the allocator's
// slack), unless --memory_budget_bytes was given a value other than its
// default (a CPU-sized figure), which then holds, capped at the free memory.
int64_t GpuMemoryBudget(int64_t free_bytes, int64_t flag_bytes, int64_t default_flag_bytes);

kernels::Form ChooseForm(const FormLimits& limits, const AttentionDims& dims, int64_t batch,
                         int64_t padded_length);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_FORM_POLICY_H_
