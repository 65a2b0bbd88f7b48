#include "server/model/weights.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace lion::model {

absl::StatusOr<at::Tensor> Weights::Get(const std::string& name,
                                        const std::vector<int64_t>& shape) {
  ASSIGN_OR_RETURN(at::Tensor t, GetFloat32(name, shape));
  return t.to(target_.dtype().toScalarType());
}

absl::StatusOr<at::Tensor> Weights::GetFloat32(const std::string& name,
                                               const std::vector<int64_t>& shape) {
  used_.insert(name);
  ASSIGN_OR_RETURN(at::Tensor t, file_->Float32(name, shape));
  try {
    return t.to(target_.device());  // no copy on the CPU
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(name, ": copy to ", target_.device().str(), " failed: ", e.what()));
  }
}

absl::Status Weights::CheckAllUsed() const {
  std::vector<std::string> unexpected;
  for (const std::string& name : file_->names()) {
    if (!used_.count(name)) unexpected.push_back(name);
  }
  if (unexpected.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      file_->path(), ": tensors not used by config.json: ", absl::StrJoin(unexpected, ", ")));
}

absl::StatusOr<Linear> Linear::Load(Weights& w, const std::string& prefix, int64_t out, int64_t in,
                                    bool float32) {
  Linear l;
  if (float32) {
    ASSIGN_OR_RETURN(l.weight, w.GetFloat32(prefix + ".weight", {out, in}));
    ASSIGN_OR_RETURN(l.bias, w.GetFloat32(prefix + ".bias", {out}));
  } else {
    ASSIGN_OR_RETURN(l.weight, w.Get(prefix + ".weight", {out, in}));
    ASSIGN_OR_RETURN(l.bias, w.Get(prefix + ".bias", {out}));
  }
  return l;
}

at::Tensor Linear::operator()(const at::Tensor& x) const {
  return at::linear(x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type()),
                    weight, bias);
}

absl::StatusOr<LayerNorm> LayerNorm::Load(Weights& w, const std::string& prefix, int64_t dim,
                                          double eps) {
  LayerNorm n;
  n.eps = eps;
  ASSIGN_OR_RETURN(n.weight, w.Get(prefix + ".weight", {dim}));
  ASSIGN_OR_RETURN(n.bias, w.Get(prefix + ".bias", {dim}));
  return n;
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

}  // namespace lion::model
