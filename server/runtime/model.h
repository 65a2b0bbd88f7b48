// The runtime's view of a model: plain C++ types only (no LibTorch, no gRPC),
// so the batcher and the API never see tensors. The LibTorch implementation
// lives in torch_model.{h,cc}; tests use fakes.
#ifndef LION_SERVER_RUNTIME_MODEL_H_
#define LION_SERVER_RUNTIME_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"
#include "server/model/model_kind.h"

namespace lion::runtime {

// As config.json names them: model::ArchitectureName, model::TaskName.
using Architecture = model::Architecture;
using Task = model::Task;
enum class Pooling { kDefault, kMean, kCls };

// What the server reports about a model (ModelInfo in the API).
struct ModelDescription {
  std::string name;
  Architecture architecture = Architecture::kBert;
  std::string variant;       // "lit" | "d" | "s"
  Task task = Task::kClassification;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t vocab_size = 0;      // text models
  std::vector<std::string> labels;
  int64_t max_input_tokens = 0;  // 0 = unbounded (no position table)
  int64_t image_size = 0;        // vision: training image side
  int64_t patch_size = 0;
  int64_t num_channels = 0;
  std::vector<float> image_mean, image_std;  // vision preprocessing
  std::string order;            // vision: "normal" | "natural"
  std::string pooling;          // default pooling: "mean" | "cls"
  std::string device = "cpu";
  std::string dtype = "float32";
  std::string description;
  std::string model_dir;        // where it was loaded from (vocab.txt lives there)
};

// One request's input, already tokenized or decoded.
struct SequenceInput {
  std::vector<int32_t> token_ids;  // text: the full input, special tokens included
  std::vector<float> pixels;       // vision: normalised float32 [C, H, W]
  int64_t channels = 0, height = 0, width = 0;

  bool is_image() const { return !pixels.empty(); }
  // Tokens the model sees: ids, or patches + CLS for an image of patch size p.
  int64_t Length(int64_t patch_size) const;
};

// Which outputs a request wants; the model computes only those.
struct OutputRequest {
  bool logits = false;             // classification logits [num_labels]
  bool pooled = false;             // pooled embedding [hidden]
  Pooling pooling = Pooling::kDefault;
  bool token_embeddings = false;   // [tokens, hidden]
  std::vector<int32_t> mlm_positions;  // MLM vocabulary logits at these token positions
};

struct SequenceOutput {
  std::vector<float> logits;
  std::vector<float> pooled;
  std::vector<float> token_embeddings;  // row-major [tokens, hidden]
  std::vector<float> mlm_logits;        // row-major [mlm_positions.size(), vocab_size]
};

struct BatchOptions {
  kernels::Form form = kernels::Form::kFull;
  int64_t chunk_size = 64;
  // Polled between layers; true stops the forward with CANCELLED (every
  // request of the batch is gone, or the server gives up). May be empty.
  std::function<bool()> should_stop;
};

// A loaded model. Forward is thread-compatible: the runner thread that owns
// the model is its only caller. Not copyable.
class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelDescription& description() const = 0;

  // Runs one batch of sequences (of any lengths; the model pads internally and
  // results do not depend on the padding). inputs.size() == outputs.size().
  // Errors: INVALID_ARGUMENT for inputs the model cannot take (wrong kind,
  // ids out of range, bad image size); INTERNAL for failures inside LibTorch.
  virtual absl::StatusOr<std::vector<SequenceOutput>> Forward(
      const std::vector<const SequenceInput*>& inputs,
      const std::vector<const OutputRequest*>& outputs, const BatchOptions& options) = 0;
};

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_MODEL_H_
