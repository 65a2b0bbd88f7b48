// Typed access to a model's safetensors weights while a model is built: each
// Get checks the stored shape against the one the config implies and records
// the name, so that CheckAllUsed can report tensors the config did not expect.
#ifndef LION_SERVER_MODEL_WEIGHTS_H_
#define LION_SERVER_MODEL_WEIGHTS_H_

#include <ATen/core/Tensor.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/model/safetensors.h"

namespace lion::model {

// Borrows the file (it must outlive this object). Not thread-safe; used only
// while loading. `target` is where the model's weights live (device and
// dtype); on the CPU in float32 they are the tensors read from the file, not
// copied again.
class Weights {
 public:
  explicit Weights(const SafetensorsFile* file,
                   at::TensorOptions target = at::TensorOptions().dtype(at::kFloat))
      : file_(file), target_(target) {}

  // The tensor `name` of exactly `shape`, on the target device in the target
  // dtype; errors name the tensor. A NaN or infinite value in the file is
  // INVALID_ARGUMENT (count and first index).
  absl::StatusOr<at::Tensor> Get(const std::string& name, const std::vector<int64_t>& shape);
  // The same on the target device but kept float32, for the decay parameters:
  // log-decays are summed over whole sequences, so they are computed in fp32
  // whatever the model's dtype.
  absl::StatusOr<at::Tensor> GetFloat32(const std::string& name, const std::vector<int64_t>& shape);
  // INVALID_ARGUMENT listing every stored tensor that no Get asked for.
  absl::Status CheckAllUsed() const;

 private:
  const SafetensorsFile* file_;
  const at::TensorOptions target_;
  std::set<std::string> used_;
};

// y = x W^T + b. Copyable (tensors share storage).
struct Linear {
  at::Tensor weight, bias;
  // float32: keep the weights in float32 on the target device (decay
  // projections); the input is then converted to float32 too.
  static absl::StatusOr<Linear> Load(Weights& w, const std::string& prefix, int64_t out, int64_t in,
                                     bool float32 = false);
  at::Tensor operator()(const at::Tensor& x) const;
};

struct LayerNorm {
  at::Tensor weight, bias;
  double eps = 1e-5;
  static absl::StatusOr<LayerNorm> Load(Weights& w, const std::string& prefix, int64_t dim,
                                        double eps);
  at::Tensor operator()(const at::Tensor& x) const;
};

// Applies a token-wise function (FFN, LayerNorm...) to x [B, L, D] in slices
// of at most `max_tokens` tokens, so that wide intermediates (the 4D FFN
// activation) never exist for a whole long input at once.
template <typename Fn>
at::Tensor TokenSlices(const at::Tensor& x, Fn fn, int64_t max_tokens = 16384);

}  // namespace lion::model

#include "server/model/weights_inl.h"

#endif  // LION_SERVER_MODEL_WEIGHTS_H_
