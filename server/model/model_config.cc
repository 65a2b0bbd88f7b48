#include "server/model/model_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace lion::model {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(const char* field, std::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: \"", field, "\" ", absl::string_view(rule.data(), rule.size())));
}

// Typed getters: a missing field or a value of the wrong JSON type is an
// error naming the field. Optional fields keep `out` when missing.
class FieldReader {
 public:
  explicit FieldReader(const Json& object) : object_(object) {}

  // Integers above INT64_MAX are refused here (nlohmann keeps them as
  // unsigned, and converting would wrap them to negatives).
  absl::Status Int(const char* field, int64_t* out, bool required = true) const {
    return Get(field, required, "an integer that fits in 64 bits", [&](const Json& v) {
      if (!v.is_number_integer()) return false;
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return false;
      }
      *out = v.get<int64_t>();
      return true;
    });
  }
  absl::Status Float(const char* field, double* out) const {
    return Get(field, true, "a number", [&](const Json& v) {
      if (!v.is_number()) return false;
      *out = v.get<double>();
      return true;
    });
  }
  absl::Status Bool(const char* field, bool* out) const {
    return Get(field, true, "true or false", [&](const Json& v) {
      if (!v.is_boolean()) return false;
      *out = v.get<bool>();
      return true;
    });
  }
  absl::Status String(const char* field, std::string* out, bool required = true) const {
    return Get(field, required, "a string", [&](const Json& v) {
      if (!v.is_string()) return false;
      *out = v.get<std::string>();
      return true;
    });
  }
  absl::Status StringList(const char* field, std::vector<std::string>* out,
                          bool required = true) const {
    return Get(field, required, "a list of strings", [&](const Json& v) {
      if (!v.is_array()) return false;
      out->clear();
      for (const Json& item : v) {
        if (!item.is_string()) return false;
        out->push_back(item.get<std::string>());
      }
      return true;
    });
  }
  // Values beyond float's range are refused here rather than converted
  // (the conversion is undefined behaviour).
  absl::Status FloatList(const char* field, std::vector<float>* out) const {
    return Get(field, true, "a list of numbers within float range", [&](const Json& v) {
      if (!v.is_array()) return false;
      out->clear();
      for (const Json& item : v) {
        if (!item.is_number()) return false;
        const double value = item.get<double>();
        if (!(std::fabs(value) <= std::numeric_limits<float>::max())) return false;
        out->push_back(static_cast<float>(value));
      }
      return true;
    });
  }

 private:
  template <typename Convert>
  absl::Status Get(const char* field, bool required, const char* type, Convert convert) const {
    auto it = object_.find(field);
    if (it == object_.end()) {
      return required ? FieldError(field, "is missing") : absl::OkStatus();
    }
    if (!convert(*it)) return FieldError(field, absl::StrCat("must be ", type));
    return absl::OkStatus();
  }

  const Json& object_;
};

// The common fields; `architecture` and `task` as written (checked by the
// caller against the name tables of model_kind.h).
absl::Status ReadCommon(const FieldReader& r, ModelConfig* c, std::string* architecture,
                        std::string* task) {
  RETURN_IF_ERROR(r.Int("format_version", &c->format_version));
  RETURN_IF_ERROR(r.String("architecture", architecture));
  RETURN_IF_ERROR(r.String("variant", &c->variant));
  RETURN_IF_ERROR(r.String("task", task));
  RETURN_IF_ERROR(r.Int("hidden_size", &c->hidden_size));
  RETURN_IF_ERROR(r.Int("num_layers", &c->num_layers));
  RETURN_IF_ERROR(r.Int("num_heads", &c->num_heads));
  RETURN_IF_ERROR(r.Int("intermediate_size", &c->intermediate_size));
  RETURN_IF_ERROR(r.Float("layer_norm_eps", &c->layer_norm_eps));
  RETURN_IF_ERROR(r.StringList("labels", &c->labels, /*required=*/false));
  RETURN_IF_ERROR(r.Int("max_input_tokens", &c->max_input_tokens));
  RETURN_IF_ERROR(r.String("description", &c->description, /*required=*/false));
  RETURN_IF_ERROR(r.Bool("use_position_embeddings", &c->use_position_embeddings));
  return r.String("pooling", &c->pooling);
}

absl::Status ReadBert(const FieldReader& r, ModelConfig* c) {
  RETURN_IF_ERROR(r.Int("vocab_size", &c->vocab_size));
  RETURN_IF_ERROR(r.Int("type_vocab_size", &c->type_vocab_size));
  RETURN_IF_ERROR(r.Int("max_position_embeddings", &c->max_position_embeddings));
  RETURN_IF_ERROR(r.Bool("layer_norm_after", &c->layer_norm_after));
  RETURN_IF_ERROR(r.Float("attention_layer_norm_eps", &c->attention_layer_norm_eps));
  RETURN_IF_ERROR(r.Float("selective_log_eps", &c->selective_log_eps));
  RETURN_IF_ERROR(r.Int("pad_token_id", &c->pad_token_id));
  RETURN_IF_ERROR(r.Bool("lowercase", &c->lowercase));
  RETURN_IF_ERROR(r.Bool("has_mlm_head", &c->has_mlm_head));
  return r.Bool("has_pooler", &c->has_pooler);
}

absl::Status ReadVit(const FieldReader& r, ModelConfig* c) {
  RETURN_IF_ERROR(r.Int("image_size", &c->image_size));
  RETURN_IF_ERROR(r.Int("patch_size", &c->patch_size));
  RETURN_IF_ERROR(r.Int("num_channels", &c->num_channels));
  RETURN_IF_ERROR(r.String("order", &c->order));
  RETURN_IF_ERROR(r.FloatList("image_mean", &c->image_mean));
  return r.FloatList("image_std", &c->image_std);
}

absl::Status OneOf(const char* field, const std::string& value,
                   std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return absl::OkStatus();
  }
  return FieldError(
      field, absl::StrCat("is \"", value, "\", expected one of: ", absl::StrJoin(allowed, ", ")));
}

// The enum that `value` names in a model_kind.h table, else OneOf's error.
template <typename Parse, typename Names>
auto OneOfTable(const char* field, const std::string& value, Parse parse, Names names)
    -> absl::StatusOr<typename decltype(parse(value))::value_type> {
  if (auto parsed = parse(value); parsed.has_value()) return *parsed;
  return FieldError(field, absl::StrCat("is \"", value, "\", expected one of: ", names()));
}

absl::Status Positive(const char* field, int64_t value) {
  return value > 0 ? absl::OkStatus()
                   : FieldError(field, absl::StrCat("is ", value, ", expected > 0"));
}

// 1 <= value <= limit.
absl::Status InRange(const char* field, int64_t value, int64_t limit) {
  RETURN_IF_ERROR(Positive(field, value));
  if (value <= limit) return absl::OkStatus();
  return FieldError(field, absl::StrCat("is ", value, ", above the limit of ", limit));
}

absl::Status PositiveEps(const char* field, double value) {
  return std::isfinite(value) && value > 0
             ? absl::OkStatus()
             : FieldError(field, absl::StrCat("is ", value, ", expected a finite value > 0"));
}

absl::Status ValidateBert(const ModelConfig& c) {
  RETURN_IF_ERROR(InRange("vocab_size", c.vocab_size, ModelConfig::kMaxVocabSize));
  RETURN_IF_ERROR(InRange("type_vocab_size", c.type_vocab_size, ModelConfig::kMaxTypeVocabSize));
  if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size) {
    return FieldError("pad_token_id",
                      absl::StrCat("is ", c.pad_token_id, ", outside [0, vocab_size)"));
  }
  if (c.max_position_embeddings < 0)
    return Positive("max_position_embeddings", c.max_position_embeddings);
  if (c.max_position_embeddings > 0) {
    RETURN_IF_ERROR(InRange("max_position_embeddings", c.max_position_embeddings,
                            ModelConfig::kMaxPositionEmbeddings));
  }
  if (c.use_position_embeddings &&
      (c.max_input_tokens <= 0 || c.max_input_tokens > c.max_position_embeddings)) {
    return FieldError(
        "max_input_tokens",
        absl::StrCat("is ", c.max_input_tokens,
                     "; with position embeddings it must be in [1, max_position_embeddings = ",
                     c.max_position_embeddings, "]"));
  }
  if (c.layer_norm_after)
    RETURN_IF_ERROR(PositiveEps("attention_layer_norm_eps", c.attention_layer_norm_eps));
  if (!std::isfinite(c.selective_log_eps) || c.selective_log_eps < 0 || c.selective_log_eps >= 1) {
    return FieldError("selective_log_eps",
                      absl::StrCat("is ", c.selective_log_eps, ", expected in [0, 1)"));
  }
  if (c.task == Task::kMlm && !c.has_mlm_head) {
    return FieldError("has_mlm_head", "is false but task is \"mlm\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateVit(const ModelConfig& c) {
  if (c.task != Task::kClassification)
    return FieldError("task", "must be \"classification\" for lion_vit");
  RETURN_IF_ERROR(InRange("image_size", c.image_size, ModelConfig::kMaxImageSize));
  RETURN_IF_ERROR(Positive("patch_size", c.patch_size));
  if (c.image_size % c.patch_size != 0) {
    return FieldError("image_size", absl::StrCat("is ", c.image_size,
                                                 ", not a multiple of patch_size ", c.patch_size));
  }
  const int64_t side = c.image_size / c.patch_size;
  if (side * side > ModelConfig::kMaxPatches) {
    return FieldError(
        "patch_size",
        absl::StrCat("is ", c.patch_size, ": image_size ", c.image_size, " gives ", side * side,
                     " patches, above the limit of ", ModelConfig::kMaxPatches));
  }
  if (c.num_channels != 1 && c.num_channels != 3) {
    return FieldError("num_channels", absl::StrCat("is ", c.num_channels, ", expected 1 or 3"));
  }
  RETURN_IF_ERROR(OneOf("order", c.order, {"normal", "natural"}));
  for (const auto& [field, values] :
       {std::pair{"image_mean", &c.image_mean}, std::pair{"image_std", &c.image_std}}) {
    if (static_cast<int64_t>(values->size()) != c.num_channels) {
      return FieldError(field, absl::StrCat("has ", values->size(),
                                            " entries, expected num_channels = ", c.num_channels));
    }
    const bool is_std = values == &c.image_std;
    // Compared as floats, the type the values are kept in.
    const float lo =
        static_cast<float>(is_std ? ModelConfig::kMinImageStd : -ModelConfig::kMaxImageStatistic);
    const float hi = static_cast<float>(ModelConfig::kMaxImageStatistic);
    for (float v : *values) {
      if (!(v >= lo && v <= hi)) {  // NaN fails too
        return FieldError(field, absl::StrCat("entry ", v, " is outside [", lo, ", ", hi, "]"));
      }
    }
  }
  return absl::OkStatus();
}

// The whole of a regular file of at most `limit` bytes. O_NONBLOCK: a FIFO
// must be refused, not waited on for a writer.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, int64_t limit) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    const std::string message = absl::StrCat(path, ": cannot open: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
  }
  absl::Cleanup closer = [fd] { close(fd); };
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat(path, ": cannot stat: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  if (st.st_size > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", st.st_size, " bytes, above the limit of ", limit));
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return absl::InternalError(absl::StrCat(path, ": read failed: ", std::strerror(errno)));
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (static_cast<int64_t>(text.size()) > limit) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": grew above the limit of ", limit, " bytes while being read"));
    }
  }
  return text;
}

}  // namespace

absl::Status ModelConfig::Validate() const {
  if (format_version != 1) {
    return FieldError("format_version",
                      absl::StrCat("is ", format_version, ", this server reads version 1"));
  }
  // architecture and task are enums: FromJson refused other names.
  RETURN_IF_ERROR(OneOf("variant", variant, {"lit", "d", "s"}));
  RETURN_IF_ERROR(OneOf("pooling", pooling, {"cls", "mean"}));
  RETURN_IF_ERROR(InRange("hidden_size", hidden_size, kMaxHiddenSize));
  RETURN_IF_ERROR(InRange("num_layers", num_layers, kMaxLayers));
  RETURN_IF_ERROR(InRange("num_heads", num_heads, kMaxHeads));
  RETURN_IF_ERROR(InRange("intermediate_size", intermediate_size, kMaxIntermediateSize));
  if (hidden_size % num_heads != 0) {
    return FieldError(
        "num_heads",
        absl::StrCat("is ", num_heads, ", which does not divide hidden_size ", hidden_size));
  }
  RETURN_IF_ERROR(PositiveEps("layer_norm_eps", layer_norm_eps));
  if (max_input_tokens < 0) return FieldError("max_input_tokens", "is negative (0 = unbounded)");
  if (max_input_tokens > 0) {
    RETURN_IF_ERROR(InRange("max_input_tokens", max_input_tokens, kMaxInputTokens));
  }
  if (description.size() > static_cast<size_t>(kMaxDescriptionBytes)) {
    return FieldError("description",
                      absl::StrCat("has ", description.size(), " bytes, above the limit of ",
                                   kMaxDescriptionBytes));
  }
  if (labels.size() > static_cast<size_t>(kMaxLabels)) {
    return FieldError(
        "labels", absl::StrCat("has ", labels.size(), " entries, above the limit of ", kMaxLabels));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i].size() > static_cast<size_t>(kMaxLabelBytes)) {
      return FieldError("labels", absl::StrCat("entry ", i, " has ", labels[i].size(),
                                               " bytes, above the limit of ", kMaxLabelBytes));
    }
  }
  if (task == Task::kClassification) {
    if (labels.empty()) return FieldError("labels", "is empty, but task is \"classification\"");
    if (std::set<std::string>(labels.begin(), labels.end()).size() != labels.size()) {
      return FieldError("labels", "has duplicates");
    }
  }
  return is_bert() ? ValidateBert(*this) : ValidateVit(*this);
}

absl::StatusOr<ModelConfig> ModelConfig::FromJson(std::string_view text) {
  Json json;
  // nlohmann::json reports bad JSON by throwing; not LibTorch, so not TorchCall.
  try {
    json = Json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: not valid JSON: ", e.what()));
  }
  if (!json.is_object()) return absl::InvalidArgumentError("config.json: not a JSON object");
  ModelConfig config;
  const FieldReader reader(json);
  std::string architecture, task;
  RETURN_IF_ERROR(ReadCommon(reader, &config, &architecture, &task));
  ASSIGN_OR_RETURN(config.architecture,
                   OneOfTable("architecture", architecture, ParseArchitecture, ArchitectureNames));
  ASSIGN_OR_RETURN(config.task, OneOfTable("task", task, ParseTask, TaskNames));
  RETURN_IF_ERROR(config.is_bert() ? ReadBert(reader, &config) : ReadVit(reader, &config));
  RETURN_IF_ERROR(config.Validate());
  return config;
}

absl::StatusOr<ModelConfig> ModelConfig::FromFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadSmallFile(path, kMaxConfigBytes));
  absl::StatusOr<ModelConfig> config = FromJson(text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace lion::model
