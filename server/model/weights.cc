#include "server/model/weights.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace lion::model {

namespace {

// INVALID_ARGUMENT naming the tensor when it holds a NaN or an infinity: such
// a weight can only produce NaN outputs, and found here it is named as what
// it is instead of surfacing later as a disagreement between forms.
absl::Status CheckFinite(const std::string& path, const std::string& name, const at::Tensor& t) {
  try {
    const at::Tensor finite = at::isfinite(t);
    if (finite.all().item<bool>()) return absl::OkStatus();
    const at::Tensor flat = t.reshape({-1});
    const at::Tensor bad = at::logical_not(finite.reshape({-1})).nonzero().reshape({-1});
    const int64_t first = bad[0].item<int64_t>();
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": tensor '", name, "' has ", bad.numel(), " non-finite values of ", t.numel(),
        " (first at flat index ", first, ": ", flat[first].item<float>(), ")"));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(path, ": tensor '", name, "': LibTorch failed: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<at::Tensor> Weights::Get(const std::string& name,
                                        const std::vector<int64_t>& shape) {
  used_.insert(name);
  ASSIGN_OR_RETURN(at::Tensor t, file_->Float32(name, shape));
  RETURN_IF_ERROR(CheckFinite(file_->path(), name, t));
  return t;
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

absl::StatusOr<Linear> Linear::Load(Weights& w, const std::string& prefix, int64_t out,
                                    int64_t in) {
  Linear l;
  ASSIGN_OR_RETURN(l.weight, w.Get(prefix + ".weight", {out, in}));
  ASSIGN_OR_RETURN(l.bias, w.Get(prefix + ".bias", {out}));
  return l;
}

at::Tensor Linear::operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }

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
