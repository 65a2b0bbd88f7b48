#include "tests/runtime/fake_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace lion::runtime {

ModelDescription FakeModel::Describe(const std::string& name, const std::string& kind) {
  ModelDescription d;
  d.name = name;
  d.architecture = kind == "vision" ? Architecture::kVit : Architecture::kBert;
  d.variant = std::string("d");
  d.task = kind == "mlm" ? Task::kMlm : Task::kClassification;
  d.hidden_size = 8;
  d.num_layers = 2;
  d.num_heads = 2;
  d.vocab_size = kind == "vision" ? 0 : 30;
  if (d.task == Task::kClassification) d.labels = {"zero", "one", "two"};
  d.max_input_tokens = kind == "vision" ? 0 : 64;
  if (kind == "vision") {
    d.image_size = 8;
    d.patch_size = 4;
    d.num_channels = 1;
    d.image_mean = {0.5f};
    d.image_std = {0.5f};
    d.order = std::string("normal");
  }
  d.pooling = std::string("mean");
  return d;
}

SequenceOutput FakeModel::Expected(const SequenceInput& in, const OutputRequest& req) const {
  // Per-token features: token t of the input gets f(t, k) = sin(value_t * (k + 1) + t).
  std::vector<float> values;
  if (in.is_image()) {
    values = in.pixels;
  } else {
    for (int32_t id : in.token_ids) values.push_back(static_cast<float>(id));
  }
  const int64_t hidden = description_.hidden_size;
  const size_t tokens = values.size();
  std::vector<float> token_emb(tokens * hidden);
  for (size_t t = 0; t < tokens; ++t) {
    for (int64_t k = 0; k < hidden; ++k) {
      token_emb[t * hidden + k] = std::sin(values[t] * (k + 1) + static_cast<float>(t));
    }
  }
  SequenceOutput out;
  std::vector<float> pooled(hidden, 0.0f);
  for (size_t t = 0; t < tokens; ++t) {
    for (int64_t k = 0; k < hidden; ++k) {
      if (req.pooling == Pooling::kCls) {
        if (t == 0) pooled[k] = token_emb[k];
      } else {
        pooled[k] += token_emb[t * hidden + k] / static_cast<float>(tokens);
      }
    }
  }
  if (req.pooled) out.pooled = pooled;
  if (req.token_embeddings) out.token_embeddings = token_emb;
  if (req.logits) {
    for (size_t j = 0; j < description_.labels.size(); ++j) {
      out.logits.push_back(pooled[j % hidden] * static_cast<float>(j + 1));
    }
  }
  for (int32_t p : req.mlm_positions) {
    for (int64_t v = 0; v < description_.vocab_size; ++v) {
      out.mlm_logits.push_back(std::cos(token_emb[p * hidden] * static_cast<float>(v)));
    }
  }
  return out;
}

absl::StatusOr<std::vector<SequenceOutput>> FakeModel::Forward(
    const std::vector<const SequenceInput*>& inputs,
    const std::vector<const OutputRequest*>& outputs, const BatchOptions& options) {
  float skew = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({static_cast<int64_t>(inputs.size()), options.form, options.chunk_size});
    if (!fail_next_.ok()) {
      absl::Status s = fail_next_;
      fail_next_ = absl::OkStatus();
      return s;
    }
    if (options.form == skew_form_) skew = skew_;
  }
  for (const SequenceInput* in : inputs) {
    for (int32_t id : in->token_ids) {
      if (id >= description_.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("token id ", id, " out of range"));
      }
    }
  }
  std::function<bool(const BatchOptions&)> hook;
  bool nan_token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hook = during_forward_;
    nan_token = nan_token_;
  }
  if (hook && hook(options)) return absl::CancelledError("forward stopped");
  std::vector<SequenceOutput> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    result.push_back(Expected(*inputs[i], *outputs[i]));
    for (float& v : result.back().pooled) v += skew;
    const auto& ids = inputs[i]->token_ids;
    if (nan_token && std::find(ids.begin(), ids.end(), kNanToken) != ids.end()) {
      for (float& v : result.back().pooled) v = std::nanf("");
    }
  }
  return result;
}

void FakeModel::SetNanToken(bool enabled) {
  std::lock_guard<std::mutex> lock(mu_);
  nan_token_ = enabled;
}

void FakeModel::SetDuringForward(std::function<bool(const BatchOptions&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  during_forward_ = std::move(hook);
}

std::vector<FakeCall> FakeModel::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void FakeModel::FailNext(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = std::move(status);
}

void FakeModel::SkewForm(kernels::Form form, float bias) {
  std::lock_guard<std::mutex> lock(mu_);
  skew_form_ = form;
  skew_ = bias;
}

}  // namespace lion::runtime
