// config.json parsing and validation: both architectures read field by field,
// every required field missing, wrong JSON types, and every cross-field rule.
#include "server/model/model_config.h"

#include <filesystem>
#include <fstream>
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
  EXPECT_EQ(c->task, "mlm");
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
