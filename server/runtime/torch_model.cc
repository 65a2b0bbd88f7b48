#include "server/runtime/torch_model.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"
#include "server/model/lion_model.h"
#include "server/runtime/device.h"
#include "server/runtime/host_outputs.h"

namespace lion::runtime {
namespace {

// A host float32 tensor (or a slice of one) as a vector.
std::vector<float> ToVector(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

at::ScalarType TorchType(kernels::DType d) {
  return d == kernels::DType::kFloat32    ? at::kFloat
         : d == kernels::DType::kBFloat16 ? at::kBFloat16
                                          : at::kHalf;
}

ModelDescription Describe(const model::ModelConfig& c, const std::string& name,
                          const std::string& dir) {
  ModelDescription d;
  d.name = name;
  d.architecture = c.architecture;
  d.variant = c.variant;
  d.task = c.task;
  d.hidden_size = c.hidden_size;
  d.num_layers = c.num_layers;
  d.num_heads = c.num_heads;
  d.vocab_size = c.vocab_size;
  d.labels = c.labels;
  d.max_input_tokens = c.max_input_tokens;
  d.image_size = c.image_size;
  d.patch_size = c.patch_size;
  d.num_channels = c.num_channels;
  d.image_mean = c.image_mean;
  d.image_std = c.image_std;
  d.order = c.order;
  d.pooling = c.pooling;
  d.description = c.description;
  d.model_dir = dir;
  return d;
}

class TorchModel final : public Model {
 public:
  TorchModel(std::unique_ptr<model::LionModel> m, ModelDescription d, int threads)
      : model_(std::move(m)),
        description_(std::move(d)),
        threads_(threads),
        device_(model_->placement().device) {}

  const ModelDescription& description() const override { return description_; }

  absl::StatusOr<std::vector<SequenceOutput>> Forward(
      const std::vector<const SequenceInput*>& inputs,
      const std::vector<const OutputRequest*>& outputs, const BatchOptions& options) override {
    if (inputs.size() != outputs.size()) {
      return absl::InvalidArgumentError("one output request per input");
    }
    c10::InferenceMode guard;
    // The runner thread's current CUDA device is the model's.
    const c10::OptionalDeviceGuard device_guard(
        device_.is_cuda() ? std::optional<c10::Device>(device_) : std::nullopt);
    // The intra-op thread count is per calling thread in LibTorch's OpenMP
    // build: set it on whichever thread runs the model (the runner).
    if (threads_ > 0 && at::get_num_threads() != threads_) at::set_num_threads(threads_);
    std::vector<SequenceOutput> results(inputs.size());
    const model::ForwardOptions fo{options.form, options.chunk_size, options.should_stop};
    // Images of one batch may differ in size: one forward per size group.
    std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> groups;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const bool image = inputs[i]->is_image();
      if (image != model_->config().is_vit()) {
        return absl::InvalidArgumentError(
            absl::StrCat("model ", description_.name, " takes ",
                         image ? "text, not images" : "images, not text"));
      }
      groups[image ? std::make_pair(inputs[i]->height, inputs[i]->width) : std::make_pair(0L, 0L)]
          .push_back(i);
    }
    for (const auto& [size, members] : groups) {
      RETURN_IF_ERROR(RunGroup(inputs, outputs, members, fo, results));
    }
    return results;
  }

 private:
  // The batch in host memory: pinned for a GPU model, so that the model's
  // copies to the device do not block.
  absl::StatusOr<model::BatchInput> Collate(const std::vector<const SequenceInput*>& inputs,
                                            const std::vector<size_t>& members) const {
    model::BatchInput batch;
    const int64_t B = static_cast<int64_t>(members.size());
    const at::TensorOptions host = at::TensorOptions().pinned_memory(device_.is_cuda());
    if (model_->config().is_vit()) {
      const SequenceInput& first = *inputs[members[0]];
      batch.pixels =
          at::empty({B, first.channels, first.height, first.width}, host.dtype(at::kFloat));
      for (int64_t b = 0; b < B; ++b) {
        const SequenceInput& in = *inputs[members[b]];
        if (static_cast<int64_t>(in.pixels.size()) != in.channels * in.height * in.width) {
          return absl::InvalidArgumentError("pixels do not match their [C, H, W] shape");
        }
        std::memcpy(batch.pixels[b].data_ptr<float>(), in.pixels.data(), in.pixels.size() * 4);
      }
      return batch;
    }
    int64_t L = 1;
    for (size_t i : members) L = std::max<int64_t>(L, inputs[i]->token_ids.size());
    batch.input_ids = at::empty({B, L}, host.dtype(at::kLong)).fill_(model_->config().pad_token_id);
    batch.lengths = at::empty({B}, host.dtype(at::kLong));
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<int32_t>& ids = inputs[members[b]]->token_ids;
      if (ids.empty()) return absl::InvalidArgumentError("empty token sequence");
      int64_t* row = batch.input_ids[b].data_ptr<int64_t>();
      for (size_t t = 0; t < ids.size(); ++t) row[t] = ids[t];
      batch.lengths[b] = static_cast<int64_t>(ids.size());
    }
    return batch;
  }

  absl::Status RunGroup(const std::vector<const SequenceInput*>& inputs,
                        const std::vector<const OutputRequest*>& outputs,
                        const std::vector<size_t>& members, const model::ForwardOptions& fo,
                        std::vector<SequenceOutput>& results) const {
    return kernels::TorchCall(absl::StrCat("model ", description_.name), [&]() -> absl::Status {
      ASSIGN_OR_RETURN(model::BatchInput batch, Collate(inputs, members));
      ASSIGN_OR_RETURN(model::Encoded enc, model_->Encode(batch, fo));
      const int64_t B = static_cast<int64_t>(members.size());
      const int64_t L = enc.hidden.size(1), D = enc.hidden.size(2);
      // True lengths, read on the host (the device copy would need a wait).
      const at::Tensor lengths =
          batch.lengths.defined() ? batch.lengths : at::full({B}, L, at::kLong);
      // Every output the batch asks for, registered for one copy to the host.
      HostOutputs out;
      std::optional<size_t> logits, hidden, mlm;
      std::map<model::PoolingKind, size_t> pooled;
      std::vector<int64_t> mlm_rows;  // MLM rows of every request, for one head call
      for (size_t b = 0; b < members.size(); ++b) {
        const OutputRequest& o = *outputs[members[b]];
        const int64_t n = lengths[b].item<int64_t>();
        if (o.logits && !logits) {
          ASSIGN_OR_RETURN(at::Tensor t, model_->ClassLogits(enc));
          logits = out.Add(t);
        }
        if (o.pooled && !pooled.count(PoolingOf(o))) {
          pooled[PoolingOf(o)] = out.Add(model_->Pool(enc, PoolingOf(o)));
        }
        if (o.token_embeddings && !hidden) hidden = out.Add(enc.hidden);
        for (int32_t p : o.mlm_positions) {
          if (p < 0 || p >= n) {
            return absl::InvalidArgumentError(
                absl::StrCat("mask position ", p, " outside [0, ", n, ")"));
          }
          mlm_rows.push_back(static_cast<int64_t>(b) * L + p);
        }
      }
      if (!mlm_rows.empty()) {
        const at::Tensor index = at::tensor(mlm_rows, at::kLong).to(device_);
        ASSIGN_OR_RETURN(at::Tensor t,
                         model_->MlmLogits(enc.hidden.reshape({-1, D}).index_select(0, index)));
        mlm = out.Add(t);
      }
      out.Fetch();
      int64_t mlm_next = 0;
      for (size_t b = 0; b < members.size(); ++b) {
        const OutputRequest& o = *outputs[members[b]];
        SequenceOutput& res = results[members[b]];
        const int64_t n = lengths[b].item<int64_t>();
        if (o.logits) res.logits = ToVector(out.host(*logits)[b]);
        if (o.pooled) res.pooled = ToVector(out.host(pooled.at(PoolingOf(o)))[b]);
        if (o.token_embeddings)
          res.token_embeddings = ToVector(out.host(*hidden)[b].narrow(0, 0, n));
        if (!o.mlm_positions.empty()) {
          const int64_t k = static_cast<int64_t>(o.mlm_positions.size());
          res.mlm_logits = ToVector(out.host(*mlm).narrow(0, mlm_next, k));
          mlm_next += k;
        }
      }
      return absl::OkStatus();
    });
  }

  model::PoolingKind PoolingOf(const OutputRequest& o) const {
    return o.pooling == Pooling::kDefault ? model_->default_pooling()
           : o.pooling == Pooling::kCls   ? model::PoolingKind::kCls
                                          : model::PoolingKind::kMean;
  }

  const std::unique_ptr<model::LionModel> model_;
  const ModelDescription description_;
  const int threads_;        // intra-op threads to use on whichever thread runs Forward
  const at::Device device_;  // where the model's weights live
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadTorchModel(const std::string& model_dir,
                                                      const TorchModelOptions& options) {
  ASSIGN_OR_RETURN(const DeviceSpec device, ParseDevice(options.device));
  ASSIGN_OR_RETURN(const kernels::DType dtype, ParseDType(options.dtype));
  RETURN_IF_ERROR(CheckDeviceUsable(device, CurrentCudaSupport()));
  if (options.threads > 0) at::set_num_threads(options.threads);
  model::LoadOptions placement;
  placement.dtype = TorchType(dtype);
  if (device.is_cuda()) {
    placement.device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device.index));
    // Dense layers of 16-bit models accumulate in float32 in cuBLAS (no
    // reduced-precision split-K reductions).
    at::globalContext().setAllowBF16ReductionCuBLAS(false);
    at::globalContext().setAllowFP16ReductionCuBLAS(false);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<model::LionModel> m,
                   model::LionModel::Load(model_dir, placement));
  std::string name = options.name;
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).parent_path().filename().string();
  ModelDescription d = Describe(m->config(), name, model_dir);
  d.device = device.ToString();
  d.dtype = options.dtype;
  return std::unique_ptr<Model>(new TorchModel(std::move(m), std::move(d), options.threads));
}

}  // namespace lion::runtime
