#include "server/repository/served_model.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/status_macros.h"

namespace lion::repository {

ModelThreads::~ModelThreads() {
  if (batcher != nullptr) batcher->Stop();
  if (runner != nullptr) runner->Stop();
}

metrics::ModelLabels MetricLabels(const runtime::ModelDescription& d) {
  return {d.name, model::ArchitectureName(d.architecture), d.variant, model::TaskName(d.task),
          d.device};
}

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

}  // namespace lion::repository
