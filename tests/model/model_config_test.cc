// config.json parsing and validation: both architectures read field by field,
// every required field missing, wrong JSON types, and every cross-field rule.
#include "server/model/model_config.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/temp_path.h"

namespace lion::model {
namespace {

using Json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Json BertConfig() {
  return Json::parse(R"({
    "format_version": 1, "architecture": "lion_bert", "variant": "lit", "task": "mlm",
    "hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072,
    "layer_norm_eps": 1e-12, "labels": [], "max_input_tokens": 512, "description": "test",
    "vocab_size": 30528, "type_vocab_size": 2, "max_position_embeddings": 512,
    "use_position_embeddings": true, "layer_norm_after": true, "attention_layer_norm_eps": 1e-5,
    "selective_log_eps": 1e-7, "pad_token_id": 0, "lowercase": true, "has_mlm_head": true,
    "has_pooler": false, "pooling": "mean"})");
}

Json VitConfig() {
  return Json::parse(R"({
    "format_version": 1, "architecture": "lion_vit", "variant": "s", "task": "classification",
    "hidden_size": 192, "num_layers": 12, "num_heads": 3, "intermediate_size": 768,
    "layer_norm_eps": 1e-6, "labels": ["cat", "dog"], "max_input_tokens": 0,
    "image_size": 224, "patch_size": 16, "num_channels": 3, "use_position_embeddings": false,
    "pooling": "cls", "order": "natural", "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225]})");
}

// The error message of parsing `json` (empty when it parses).
std::string Error(const Json& json) {
  absl::StatusOr<ModelConfig> config = ModelConfig::FromJson(json.dump());
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

TEST(ModelConfigTest, ReadsBertFields) {
  absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(BertConfig().dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->is_bert());
  EXPECT_EQ(c->variant, "lit");
  EXPECT_EQ(c->task, Task::kMlm);
  EXPECT_EQ(c->hidden_size, 768);
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->intermediate_size, 3072);
  EXPECT_DOUBLE_EQ(c->layer_norm_eps, 1e-12);
  EXPECT_EQ(c->vocab_size, 30528);
  EXPECT_EQ(c->max_input_tokens, 512);
  EXPECT_TRUE(c->use_position_embeddings);
  EXPECT_TRUE(c->layer_norm_after);
  EXPECT_DOUBLE_EQ(c->selective_log_eps, 1e-7);
  EXPECT_TRUE(c->has_mlm_head);
  EXPECT_FALSE(c->has_pooler);
  EXPECT_EQ(c->pooling, "mean");
  EXPECT_EQ(c->description, "test");
}

TEST(ModelConfigTest, ReadsVitFields) {
  absl::StatusOr<ModelConfig> c = ModelConfig::FromJson(VitConfig().dump());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->is_vit());
  EXPECT_THAT(c->labels, ElementsAre("cat", "dog"));
  EXPECT_EQ(c->image_size, 224);
  EXPECT_EQ(c->patch_size, 16);
  EXPECT_EQ(c->num_channels, 3);
  EXPECT_EQ(c->order, "natural");
  EXPECT_EQ(c->pooling, "cls");
  EXPECT_THAT(c->image_mean, ElementsAre(0.485f, 0.456f, 0.406f));
  EXPECT_THAT(c->image_std, ElementsAre(0.229f, 0.224f, 0.225f));
}

TEST(ModelConfigTest, EveryFieldButLabelsAndDescriptionIsRequired) {
  for (const Json& valid : {BertConfig(), VitConfig()}) {
    for (const auto& [key, value] : valid.items()) {
      Json json = valid;
      json.erase(key);
      const std::string error = Error(json);
      if (key == "description" || (key == "labels" && valid["task"] == "mlm")) {
        EXPECT_EQ(error, "") << key;
      } else {
        EXPECT_THAT(error, HasSubstr("\"" + key + "\"")) << key;
      }
    }
  }
}

TEST(ModelConfigTest, WrongJsonTypesNameTheField) {
  const std::vector<std::pair<std::string, Json>> cases = {{"hidden_size", "768"},
                                                           {"hidden_size", 768.5},
                                                           {"num_layers", true},
                                                           {"layer_norm_eps", "1e-12"},
                                                           {"use_position_embeddings", 1},
                                                           {"labels", Json::array({1, 2})},
                                                           {"architecture", 3},
                                                           {"pooling", nullptr}};
  for (const auto& [key, value] : cases) {
    Json json = BertConfig();
    json[key] = value;
    EXPECT_THAT(Error(json), HasSubstr("\"" + key + "\" must be")) << key << " = " << value;
  }
  Json vit = VitConfig();
  vit["image_mean"] = Json::array({0.5, "x", 0.5});
  EXPECT_THAT(Error(vit), HasSubstr("\"image_mean\" must be a list of numbers"));
}

TEST(ModelConfigTest, NotJsonOrNotAnObject) {
  EXPECT_THAT(ModelConfig::FromJson("{").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ModelConfig::FromJson("[]").status().message(), HasSubstr("not a JSON object"));
  EXPECT_THAT(ModelConfig::FromJson("").status().message(), HasSubstr("not valid JSON"));
}

struct RuleCase {
  bool vit;
  std::string key;
  Json value;
  std::string message;
};

TEST(ModelConfigTest, CrossFieldRules) {
  const std::vector<RuleCase> cases = {
      {false, "format_version", 2, "reads version 1"},
      {false, "architecture", "lion_gpt", "\"architecture\" is \"lion_gpt\", expected one of"},
      {false, "variant", "x", "\"variant\""},
      {false, "task", "ner", "\"task\""},
      {false, "pooling", "max", "\"pooling\""},
      {false, "hidden_size", 0, "\"hidden_size\" is 0, expected > 0"},
      {false, "num_heads", 7, "does not divide hidden_size 768"},
      {false, "layer_norm_eps", 0.0, "\"layer_norm_eps\" is 0"},
      {false, "max_input_tokens", -1, "\"max_input_tokens\" is negative"},
      {false, "max_input_tokens", 0, "with position embeddings it must be in [1, "},
      {false, "max_input_tokens", 513, "max_position_embeddings = 512"},
      {false, "pad_token_id", 30528, "\"pad_token_id\" is 30528, outside [0, vocab_size)"},
      {false, "has_mlm_head", false, "\"has_mlm_head\" is false but task is \"mlm\""},
      {false, "selective_log_eps", -1e-7, "\"selective_log_eps\""},
      {false, "attention_layer_norm_eps", 0.0, "\"attention_layer_norm_eps\""},
      {true, "labels", Json::array(), "\"labels\" is empty"},
      {true, "labels", Json::array({"a", "a"}), "duplicates"},
      {true, "task", "mlm", "must be \"classification\" for lion_vit"},
      {true, "image_size", 200, "not a multiple of patch_size 16"},
      {true, "patch_size", 0, "\"patch_size\" is 0"},
      {true, "num_channels", 2, "\"num_channels\" is 2, expected 1 or 3"},
      {true, "order", "zigzag", "\"order\""},
      {true, "image_mean", Json::array({0.5}), "\"image_mean\" has 1 entries"},
      {true, "image_std", Json::array({0.2, 0.0, 0.2}), "\"image_std\" entry 0"},
  };
  for (const RuleCase& c : cases) {
    Json json = c.vit ? VitConfig() : BertConfig();
    json[c.key] = c.value;
    EXPECT_THAT(Error(json), HasSubstr(c.message)) << c.key << " = " << c.value;
  }
  // Grayscale ViT with one mean/std and a D/S BERT without positions are valid.
  Json gray = VitConfig();
  gray["num_channels"] = 1;
  gray["image_mean"] = Json::array({0.5});
  gray["image_std"] = Json::array({0.5});
  EXPECT_EQ(Error(gray), "");
  Json unbounded = BertConfig();
  unbounded["variant"] = "d";
  unbounded["use_position_embeddings"] = false;
  unbounded["max_position_embeddings"] = 0;
  unbounded["max_input_tokens"] = 0;
  EXPECT_EQ(Error(unbounded), "");
}

// Every size is bounded, so a typo or a hostile config.json is an error
// naming the field and the limit, never an allocation that aborts the server
// (image_size 100000 used to end in an uncaught std::bad_alloc at warm-up).
TEST(ModelConfigTest, SizesAboveTheirLimitsNameTheFieldAndTheLimit) {
  using C = ModelConfig;
  const std::vector<RuleCase> cases = {
      {false, "hidden_size", C::kMaxHiddenSize + 1,
       "\"hidden_size\" is 65537, above the limit of 65536"},
      {false, "num_layers", C::kMaxLayers + 1, "\"num_layers\" is 1025, above the limit of 1024"},
      {false, "num_heads", C::kMaxHeads + 1, "\"num_heads\" is 1025, above the limit of 1024"},
      {false, "intermediate_size", C::kMaxIntermediateSize + 1,
       "\"intermediate_size\" is 262145, above the limit of 262144"},
      {false, "vocab_size", C::kMaxVocabSize + 1,
       "\"vocab_size\" is 4194305, above the limit of 4194304"},
      {false, "type_vocab_size", C::kMaxTypeVocabSize + 1,
       "\"type_vocab_size\" is 1025, above the limit of 1024"},
      {false, "max_position_embeddings", C::kMaxPositionEmbeddings + 1,
       "\"max_position_embeddings\" is 1048577, above the limit of 1048576"},
      {false, "max_input_tokens", C::kMaxInputTokens + 1,
       "\"max_input_tokens\" is 16777217, above the limit of 16777216"},
      {false, "description", std::string(C::kMaxDescriptionBytes + 1, 'x'),
       "\"description\" has 65537 bytes, above the limit of 65536"},
      {true, "image_size", 100000, "\"image_size\" is 100000, above the limit of 4096"},
      {true, "image_size", 4096,
       "\"patch_size\" is 16: image_size 4096 gives 65536 patches, "
       "above the limit of 4096"},
      {true, "labels", Json::array({"cat", std::string(C::kMaxLabelBytes + 1, 'x')}),
       "\"labels\" entry 1 has 1025 bytes, above the limit of 1024"},
      {true, "image_mean", Json::array({0.5, 1e5, 0.5}), "\"image_mean\" entry 100000 is outside"},
      {true, "image_std", Json::array({0.2, 1e-5, 0.2}), "\"image_std\" entry 1e-05 is outside"},
      {true, "image_std", Json::array({0.2, 1e300, 0.2}),
       "\"image_std\" must be a list of numbers within float range"},
      {false, "hidden_size", Json(std::numeric_limits<uint64_t>::max()),
       "\"hidden_size\" must be an integer that fits in 64 bits"},
  };
  for (const RuleCase& c : cases) {
    Json json = c.vit ? VitConfig() : BertConfig();
    json[c.key] = c.value;
    EXPECT_THAT(Error(json), HasSubstr(c.message)) << c.key;
  }
  Json many_labels = VitConfig();
  many_labels["labels"] = Json::array();
  for (int64_t i = 0; i <= C::kMaxLabels; ++i) many_labels["labels"].push_back(std::to_string(i));
  EXPECT_THAT(Error(many_labels),
              HasSubstr("\"labels\" has 1048577 entries, above the limit of 1048576"));
}

TEST(ModelConfigTest, SizesAtTheirLimitsAreAccepted) {
  Json vit = VitConfig();
  vit["image_size"] = ModelConfig::kMaxImageSize;
  vit["patch_size"] = 64;  // 64 x 64 = kMaxPatches
  vit["image_std"] = Json::array({ModelConfig::kMinImageStd, 1.0, ModelConfig::kMaxImageStatistic});
  EXPECT_EQ(Error(vit), "");
  Json bert = BertConfig();
  bert["variant"] = "d";
  bert["use_position_embeddings"] = false;
  bert["max_input_tokens"] = ModelConfig::kMaxInputTokens;
  bert["max_position_embeddings"] = ModelConfig::kMaxPositionEmbeddings;
  bert["vocab_size"] = ModelConfig::kMaxVocabSize;
  bert["num_layers"] = ModelConfig::kMaxLayers;
  bert["hidden_size"] = ModelConfig::kMaxHiddenSize;
  bert["num_heads"] = ModelConfig::kMaxHeads;
  bert["intermediate_size"] = ModelConfig::kMaxIntermediateSize;
  EXPECT_EQ(Error(bert), "");
}

TEST(ModelConfigTest, FromFileRefusesFifosAndHugeFiles) {
  const std::string fifo = testing_util::UniqueTempPath("config_fifo.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<ModelConfig> c = ModelConfig::FromFile(fifo);  // must not wait for a writer
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(fifo + ": not a regular file"));
  std::filesystem::remove(fifo);
  const std::string huge = testing_util::UniqueTempPath("config_huge.json");
  std::ofstream(huge) << " ";
  std::filesystem::resize_file(huge, ModelConfig::kMaxConfigBytes + 1);
  c = ModelConfig::FromFile(huge);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(huge + ": 16777217 bytes, above the limit of 16777216"));
  std::filesystem::remove(huge);
}

TEST(ModelConfigTest, FromFileReadsAndPrefixesErrorsWithThePath) {
  const std::string path = testing_util::UniqueTempPath("model_config_test.json");
  std::ofstream(path) << VitConfig().dump(2);
  absl::StatusOr<ModelConfig> c = ModelConfig::FromFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 192);
  std::ofstream(path) << "{\"format_version\": 1}";
  EXPECT_THAT(ModelConfig::FromFile(path).status().message(),
              HasSubstr(path + ": config.json: \"architecture\" is missing"));
  std::filesystem::remove(path);
  EXPECT_EQ(ModelConfig::FromFile(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lion::model
