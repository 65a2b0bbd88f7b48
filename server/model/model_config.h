// config.json of a model directory (docs/model-format.md, format version 1),
// parsed into a plain struct. No LibTorch.
#ifndef LION_SERVER_MODEL_MODEL_CONFIG_H_
#define LION_SERVER_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/model/model_kind.h"

namespace lion::model {

// Field meanings: docs/model-format.md. Copyable.
struct ModelConfig {
  // Upper bounds (docs/model-format.md, "Limits"). Each lies far above every
  // published BERT/ViT size; they exist so that a typo or a hostile file is
  // an error naming the field instead of an allocation that aborts the
  // process (the weights file bounds tensor sizes, but the image side, the
  // patch grid and the token limit size work no file holds).
  static constexpr int64_t kMaxConfigBytes = int64_t{16} << 20;
  static constexpr int64_t kMaxHiddenSize = 65536;
  static constexpr int64_t kMaxLayers = 1024;
  static constexpr int64_t kMaxHeads = 1024;
  static constexpr int64_t kMaxIntermediateSize = 262144;
  static constexpr int64_t kMaxVocabSize = int64_t{1} << 22;  // 4,194,304
  static constexpr int64_t kMaxTypeVocabSize = 1024;
  static constexpr int64_t kMaxPositionEmbeddings = int64_t{1} << 20;
  static constexpr int64_t kMaxInputTokens = int64_t{1} << 24;
  static constexpr int64_t kMaxImageSize = 4096;
  static constexpr int64_t kMaxPatches = 4096;  // (image_size / patch_size)^2
  static constexpr int64_t kMaxLabels = int64_t{1} << 20;
  static constexpr int64_t kMaxLabelBytes = 1024;
  static constexpr int64_t kMaxDescriptionBytes = 65536;
  static constexpr double kMinImageStd = 1e-4;
  static constexpr double kMaxImageStatistic = 1e4;  // |mean| and std

  // Common.
  int64_t format_version = 1;
  Architecture architecture = Architecture::kBert;  // "lion_bert" | "lion_vit"
  std::string variant;                              // "lit" | "d" | "s"
  Task task = Task::kClassification;                // "mlm" | "classification"
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  double layer_norm_eps = 0.0;
  std::vector<std::string> labels;  // optional: empty for MLM
  int64_t max_input_tokens = 0;     // 0 = unbounded
  std::string description;          // optional
  bool use_position_embeddings = false;
  std::string pooling;  // "cls" | "mean"

  // lion_bert.
  int64_t vocab_size = 0;
  int64_t type_vocab_size = 0;
  int64_t max_position_embeddings = 0;
  bool layer_norm_after = false;
  double attention_layer_norm_eps = 0.0;
  double selective_log_eps = 0.0;  // 0 = -softplus(z)
  int64_t pad_token_id = 0;
  bool lowercase = false;
  bool has_mlm_head = false;
  bool has_pooler = false;

  // lion_vit.
  int64_t image_size = 0;
  int64_t patch_size = 0;
  int64_t num_channels = 0;
  std::string order;  // "normal" | "natural"
  std::vector<float> image_mean, image_std;

  bool is_bert() const { return architecture == Architecture::kBert; }
  bool is_vit() const { return architecture == Architecture::kVit; }
  int64_t head_dim() const { return num_heads > 0 ? hidden_size / num_heads : 0; }

  // Parses config.json text and validates it. Every field of the format is
  // required (with its JSON type) for the architecture, except `labels` and
  // `description`; unknown fields are ignored. INVALID_ARGUMENT naming the
  // field otherwise.
  static absl::StatusOr<ModelConfig> FromJson(std::string_view text);
  // Reads `path` and calls FromJson; errors are prefixed with the path
  // (NOT_FOUND when the file does not exist; INVALID_ARGUMENT for something
  // other than a regular file or one over kMaxConfigBytes).
  static absl::StatusOr<ModelConfig> FromFile(const std::string& path);

  // Cross-field checks, INVALID_ARGUMENT naming the field and the rule or
  // limit: known enums; positive sizes, each at most its kMax* bound;
  // hidden_size divisible by num_heads; finite positive eps; labels
  // non-empty and unique for classification, each at most kMaxLabelBytes;
  // MLM only for lion_bert with has_mlm_head; BERT: pad_token_id <
  // vocab_size, positions need 0 < max_input_tokens <=
  // max_position_embeddings; ViT: image_size a multiple of patch_size with at
  // most kMaxPatches patches, num_channels 1 or 3, one mean in
  // [-kMaxImageStatistic, kMaxImageStatistic] and one std in [kMinImageStd,
  // kMaxImageStatistic] per channel.
  absl::Status Validate() const;
};

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_MODEL_CONFIG_H_
