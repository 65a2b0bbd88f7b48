// Options shared by every implementation of the LION attention core
// (reference, optimized CPU, CUDA). No LibTorch here: the scalar reference and
// the CUDA launchers use these on raw pointers.
#ifndef LION_KERNELS_ATTENTION_OPTIONS_H_
#define LION_KERNELS_ATTENTION_OPTIONS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace lion::kernels {

// The three ways to compute the same attention (docs/lion-math.md sections
// 2-4). Values match lion.v1.Form so the API layer can cast.
enum class Form : int { kFull = 1, kChunk = 2, kRnn = 3 };

const char* FormName(Form form);  // "full", "chunk", "rnn"
bool ParseForm(std::string_view name, Form* form);

// What to compute from the masked scores A = c * (Q K^T) o M:
//   normalize = true  (vision): y_i = num_i / (den_i + eps), num = A V, den = A 1
//   normalize = false (MLM):    y_i = num_i
// `scale` is c: dh^-1/2, or dh^-1/2 / 2 for the two-order models
// (docs/lion-math.md section 7), so that eps enters exactly as in the official
// parallel path (docs/lion-math.md section 2.2).
struct AttentionOptions {
  Form form = Form::kFull;
  int64_t chunk_size = 64;  // chunk form only; any value >= 1 (>= L is the full form)
  float scale = 1.0f;
  bool normalize = false;
  float eps = 1e-6f;

  absl::Status Validate() const;
};

// Shapes of one call: q, k [B, H, L, dk]; v [B, H, L, dv]; log-decays g [B, H, L];
// all contiguous row-major. lengths (optional) [B]: sequence b is right-padded
// and computed at its true length lengths[b] in [0, L]; rows at or past it are 0.
struct AttentionShape {
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t length = 0;
  int64_t dk = 0;
  int64_t dv = 0;

  absl::Status Validate() const;
  int64_t Rows() const { return batch * heads; }  // independent (b, h) problems
};

// FLOP counts of the attention core per (b, h) problem, from docs/lion-math.md
// section 5 (used by benchmarks to report achieved GFLOP/s). Assumes
// dk = dv = d.
double AttentionFlops(Form form, int64_t length, int64_t d, int64_t chunk_size);

}  // namespace lion::kernels

#endif  // LION_KERNELS_ATTENTION_OPTIONS_H_
