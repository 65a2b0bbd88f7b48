// Template definitions for weights.h.
#ifndef LION_SERVER_MODEL_WEIGHTS_INL_H_
#define LION_SERVER_MODEL_WEIGHTS_INL_H_

#include <ATen/ATen.h>

namespace lion::model {

template <typename Fn>
at::Tensor TokenSlices(const at::Tensor& x, Fn fn, int64_t max_tokens) {
  const int64_t B = x.size(0), L = x.size(1);
  const int64_t step = std::max<int64_t>(1, max_tokens / std::max<int64_t>(B, 1));
  if (L <= step) return fn(x);
  at::Tensor out;
  for (int64_t t = 0; t < L; t += step) {
    const at::Tensor part = fn(x.narrow(1, t, std::min(step, L - t)));
    if (!out.defined()) out = at::empty({B, L, part.size(2)}, part.options());
    out.narrow(1, t, part.size(1)).copy_(part);
  }
  return out;
}

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_WEIGHTS_INL_H_
