#include "server/model/lion_model.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "lion/kernels/lion_attention_cuda.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"
#include "server/model/lion_bert.h"
#include "server/model/lion_vit.h"
#include "server/model/safetensors.h"
#include "server/model/weights.h"

namespace lion::model {

absl::Status CheckStop(const ForwardOptions& options) {
  if (options.should_stop && options.should_stop()) {
    return absl::CancelledError("forward stopped: nobody waits for this batch any more");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LionModel>> LionModel::Load(const std::string& dir,
                                                           const LoadOptions& options) {
  ASSIGN_OR_RETURN(ModelConfig config, ModelConfig::FromFile(dir + "/config.json"));
  if (options.dtype != at::kFloat && !options.device.is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": dtype ", c10::toString(options.dtype), " runs on a GPU only"));
  }
  if (options.device.is_cuda() && config.head_dim() > kernels::kCudaMaxHeadDim) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": head width ", config.head_dim(),
                                                   " is wider than the CUDA kernels take (",
                                                   kernels::kCudaMaxHeadDim, ")"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                   SafetensorsFile::Open(dir + "/model.safetensors"));
  Weights weights(file.get(), at::TensorOptions().device(options.device).dtype(options.dtype));
  auto build = [&]() -> absl::StatusOr<std::unique_ptr<LionModel>> {
    if (config.is_bert()) return LionBert::Create(std::move(config), weights);
    return LionVit::Create(std::move(config), weights);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<LionModel> model,
                   kernels::TorchCall(absl::StrCat(dir, ": building the model failed"), build));
  RETURN_IF_ERROR(weights.CheckAllUsed());
  RETURN_IF_ERROR(file->CheckUnchanged());
  model->placement_ = options;
  return model;
}

BatchInput LionModel::OnDevice(const BatchInput& in) const {
  auto move = [this](const at::Tensor& t) {
    return t.defined() ? t.to(placement_.device, /*non_blocking=*/true) : t;
  };
  BatchInput out{move(in.input_ids), move(in.lengths), move(in.token_type_ids), move(in.pixels)};
  if (out.pixels.defined()) out.pixels = out.pixels.to(placement_.dtype);
  return out;
}

at::Tensor LionModel::Pool(const Encoded& encoded, PoolingKind kind) const {
  if (kind == PoolingKind::kCls) return encoded.hidden.select(1, 0);
  // Rows past a length are already 0, so the sum is over real tokens only.
  const at::Tensor n = encoded.lengths.to(at::kFloat).clamp_min(1).unsqueeze(1);
  return at::sum(encoded.hidden, {1}, /*keepdim=*/false, at::kFloat) /
         n;  // fp32 sum for 16-bit models
}

absl::StatusOr<at::Tensor> LionModel::MlmLogits(const at::Tensor&) const {
  return absl::FailedPreconditionError(absl::StrCat("model has no MLM head (architecture ",
                                                    ArchitectureName(config_.architecture), ")"));
}

kernels::AttentionOptions MakeAttentionOptions(const ModelConfig& config,
                                               const ForwardOptions& options) {
  kernels::AttentionOptions o;
  o.form = options.form;
  o.chunk_size = options.chunk_size;
  const double s = 1.0 / std::sqrt(static_cast<double>(config.head_dim()));
  if (config.is_vit()) {
    // Vision: y = c num / (c den + 1e-6), c = s (s/2 for two orders),
    // docs/lion-math.md section 2.2.
    o.normalize = true;
    o.eps = 1e-6f;
    o.scale = static_cast<float>(config.order == "natural" ? s / 2.0 : s);
  } else {
    o.normalize = false;
    o.scale = static_cast<float>(s);
  }
  return o;
}

}  // namespace lion::model
