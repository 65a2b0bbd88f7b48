#include "server/runtime/torch_model.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <filesystem>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/model/lion_model.h"

namespace lion::runtime {
namespace {

std::vector<float> ToVector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

ModelDescription Describe(const model::ModelConfig& c, const std::string& name,
                          const std::string& dir) {
  ModelDescription d;
  d.name = name;
  d.architecture = c.architecture;
  d.variant = c.variant;
  d.task = c.task == "mlm" ? Task::kMlm : Task::kClassification;
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
      : model_(std::move(m)), description_(std::move(d)), threads_(threads) {}

  const ModelDescription& description() const override { return description_; }

  absl::StatusOr<std::vector<SequenceOutput>> Forward(
      const std::vector<const SequenceInput*>& inputs,
      const std::vector<const OutputRequest*>& outputs, const BatchOptions& options) override {
    if (inputs.size() != outputs.size()) {
      return absl::InvalidArgumentError("one output request per input");
    }
    c10::InferenceMode guard;
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
        return absl::InvalidArgumentError(absl::StrCat("model ", description_.name, " takes ",
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
  absl::StatusOr<model::BatchInput> Collate(const std::vector<const SequenceInput*>& inputs,
                                            const std::vector<size_t>& members) const {
    model::BatchInput batch;
    const int64_t B = static_cast<int64_t>(members.size());
    if (model_->config().is_vit()) {
      const SequenceInput& first = *inputs[members[0]];
      batch.pixels = at::empty({B, first.channels, first.height, first.width}, at::kFloat);
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
    batch.input_ids = at::full({B, L}, model_->config().pad_token_id, at::kLong);
    batch.lengths = at::empty({B}, at::kLong);
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
    try {
      ASSIGN_OR_RETURN(model::BatchInput batch, Collate(inputs, members));
      ASSIGN_OR_RETURN(model::Encoded enc, model_->Encode(batch, fo));
      bool want_logits = false;
      for (size_t i : members) want_logits |= outputs[i]->logits;
      at::Tensor logits;
      if (want_logits) {
        ASSIGN_OR_RETURN(logits, model_->ClassLogits(enc));
      }
      std::map<model::PoolingKind, at::Tensor> pooled;
      // MLM rows of every request, gathered for one head call.
      std::vector<int64_t> mlm_rows;
      const int64_t L = enc.hidden.size(1), D = enc.hidden.size(2);
      for (size_t b = 0; b < members.size(); ++b) {
        const OutputRequest& out = *outputs[members[b]];
        const int64_t n = enc.lengths[b].item<int64_t>();
        for (int32_t p : out.mlm_positions) {
          if (p < 0 || p >= n) {
            return absl::InvalidArgumentError(absl::StrCat("mask position ", p, " outside [0, ", n, ")"));
          }
          mlm_rows.push_back(static_cast<int64_t>(b) * L + p);
        }
      }
      at::Tensor mlm;
      if (!mlm_rows.empty()) {
        const at::Tensor rows = enc.hidden.reshape({-1, D}).index_select(0, at::tensor(mlm_rows, at::kLong));
        ASSIGN_OR_RETURN(mlm, model_->MlmLogits(rows));
      }
      int64_t mlm_next = 0;
      for (size_t b = 0; b < members.size(); ++b) {
        const OutputRequest& out = *outputs[members[b]];
        SequenceOutput& res = results[members[b]];
        const int64_t n = enc.lengths[b].item<int64_t>();
        if (out.logits) res.logits = ToVector(logits[b]);
        if (out.pooled) {
          const model::PoolingKind kind =
              out.pooling == Pooling::kDefault ? model_->default_pooling()
              : out.pooling == Pooling::kCls   ? model::PoolingKind::kCls
                                               : model::PoolingKind::kMean;
          if (!pooled.count(kind)) pooled[kind] = model_->Pool(enc, kind);
          res.pooled = ToVector(pooled[kind][b]);
        }
        if (out.token_embeddings) res.token_embeddings = ToVector(enc.hidden[b].narrow(0, 0, n));
        if (!out.mlm_positions.empty()) {
          const int64_t k = static_cast<int64_t>(out.mlm_positions.size());
          res.mlm_logits = ToVector(mlm.narrow(0, mlm_next, k));
          mlm_next += k;
        }
      }
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("model ", description_.name, ": ", e.what()));
    }
  }

  const std::unique_ptr<model::LionModel> model_;
  const ModelDescription description_;
  const int threads_;  // intra-op threads to use on whichever thread runs Forward
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadTorchModel(const std::string& model_dir,
                                                      const TorchModelOptions& options) {
  if (options.device != "cpu") {
    return absl::UnimplementedError(absl::StrCat(
        "device ", options.device, ": the model code runs on the CPU in this build"));
  }
  if (options.threads > 0) at::set_num_threads(options.threads);
  ASSIGN_OR_RETURN(std::unique_ptr<model::LionModel> m, model::LionModel::Load(model_dir));
  std::string name = options.name;
  if (name.empty()) name = std::filesystem::path(model_dir).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model_dir).parent_path().filename().string();
  ModelDescription d = Describe(m->config(), name, model_dir);
  d.device = options.device;
  return std::unique_ptr<Model>(new TorchModel(std::move(m), std::move(d), options.threads));
}

}  // namespace lion::runtime
