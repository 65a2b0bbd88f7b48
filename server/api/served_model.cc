#include "server/api/served_model.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "server/api/wire.h"
#include "server/common/status_macros.h"

namespace lion::api {

absl::StatusOr<std::unique_ptr<tokenizer::WordPieceTokenizer>> LoadTokenizer(
    const std::string& model_dir, int64_t vocab_size) {
  tokenizer::TokenizerOptions options;
  options.vocab_path = model_dir + "/vocab.txt";
  std::ifstream in(model_dir + "/config.json");
  if (in) {
    nlohmann::json config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (config.is_object() && config.contains("lowercase") && config["lowercase"].is_boolean()) {
      options.lowercase = config["lowercase"].get<bool>();
    }
  }
  ASSIGN_OR_RETURN(auto tokenizer, tokenizer::WordPieceTokenizer::Create(options));
  if (tokenizer->vocab_size() > vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.vocab_path, " has ", tokenizer->vocab_size(), " tokens, more than vocab_size=",
        vocab_size, " in config.json (the rows of the embedding table)"));
  }
  return tokenizer;
}

void ModelRegistry::Publish(std::vector<std::unique_ptr<ServedModel>> models) {
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) {
    return a->description.name < b->description.name;
  });
  models_ = std::move(models);
  published_.store(true, std::memory_order_release);
}

const std::vector<std::unique_ptr<ServedModel>>& ModelRegistry::models() const {
  static const auto* none = new std::vector<std::unique_ptr<ServedModel>>();
  return published_.load(std::memory_order_acquire) ? models_ : *none;
}

absl::StatusOr<const ServedModel*> ModelRegistry::Find(const std::string& name) const {
  if (!published_.load(std::memory_order_acquire)) {
    return absl::UnavailableError("lion-serve is still loading its models");
  }
  if (name.empty() && !models_.empty()) return models_.front().get();
  for (const auto& m : models_) {
    if (m->description.name == name) return m.get();
  }
  std::vector<std::string> names;
  for (const auto& m : models_) names.push_back(m->description.name);
  return absl::NotFoundError(absl::StrCat("model ", Quoted(name), " is not served (models: ",
                                          absl::StrJoin(names, ", "), ")"));
}

}  // namespace lion::api
