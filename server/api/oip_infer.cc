#include "server/api/oip_infer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/wire.h"
#include "server/common/status_macros.h"

namespace lion::api {
namespace {

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::string Shape(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

bool IsClassifier(const ServedModel& m) {
  return m.description.task == runtime::Task::kClassification;
}

// Output names of `m`, and those returned when a request names none.
std::vector<std::string> OutputNames(const ServedModel& m) {
  if (IsClassifier(m)) return {"logits", "embeddings", "token_embeddings"};
  return {"embeddings", "token_embeddings"};
}
std::vector<std::string> DefaultOutputs(const ServedModel& m) {
  if (IsClassifier(m)) return {"logits", "embeddings"};
  return {"embeddings"};
}

template <typename T>
absl::StatusOr<T> ParamAs(const OipParams& params, const std::string& name, T fallback) {
  auto it = params.find(name);
  if (it == params.end()) return fallback;
  if (const T* value = std::get_if<T>(&it->second)) return *value;
  return Invalid(absl::StrCat("parameters.", name, ": wrong type (expected ",
                              std::is_same_v<T, bool> ? "a boolean" : "a string", ")"));
}

// Options every row shares, from the request's parameters.
absl::Status ApplyParameters(const OipParams& params, const std::set<std::string>& front,
                             v1::EmbedRequest* row) {
  static const std::set<std::string>* known =
      new std::set<std::string>{"form", "pooling", "normalize", "truncation"};
  for (const auto& [name, value] : params) {
    if (known->count(name) == 0 && front.count(name) == 0) {
      return Invalid(absl::StrCat("parameters: unknown parameter ", Quoted(name),
                                  " (lion-serve takes form, pooling, normalize, truncation)"));
    }
  }
  ASSIGN_OR_RETURN(std::string form, ParamAs<std::string>(params, "form", "auto"));
  ASSIGN_OR_RETURN(std::string pooling, ParamAs<std::string>(params, "pooling", "default"));
  ASSIGN_OR_RETURN(std::string truncation, ParamAs<std::string>(params, "truncation", "none"));
  ASSIGN_OR_RETURN(bool normalize, ParamAs<bool>(params, "normalize", false));
  static const std::map<std::string, v1::Form>* forms =
      new std::map<std::string, v1::Form>{{"auto", v1::FORM_AUTO},
                                          {"full", v1::FORM_FULL},
                                          {"chunk", v1::FORM_CHUNK},
                                          {"rnn", v1::FORM_RNN}};
  static const std::map<std::string, v1::Pooling>* poolings =
      new std::map<std::string, v1::Pooling>{
          {"default", v1::POOLING_DEFAULT}, {"mean", v1::POOLING_MEAN}, {"cls", v1::POOLING_CLS}};
  static const std::map<std::string, v1::Truncation>* truncations =
      new std::map<std::string, v1::Truncation>{{"none", v1::TRUNCATION_NONE},
                                                {"right", v1::TRUNCATION_RIGHT},
                                                {"left", v1::TRUNCATION_LEFT}};
  if (!forms->count(form)) return Invalid("parameters.form: expected auto, full, chunk or rnn");
  if (!poolings->count(pooling))
    return Invalid("parameters.pooling: expected default, mean or cls");
  if (!truncations->count(truncation)) {
    return Invalid("parameters.truncation: expected none, right or left");
  }
  row->set_form(forms->at(form));
  row->set_pooling(poolings->at(pooling));
  row->set_truncation(truncations->at(truncation));
  row->set_normalize(normalize);
  return absl::OkStatus();
}

// The requested outputs, checked against the model.
absl::StatusOr<std::vector<std::string>> ChooseOutputs(const OipRequest& req, const ServedModel& m,
                                                       const std::set<std::string>& front) {
  if (req.outputs.empty()) return DefaultOutputs(m);
  const std::vector<std::string> names = OutputNames(m);
  std::vector<std::string> chosen;
  for (const OipRequestedOutput& out : req.outputs) {
    if (std::find(names.begin(), names.end(), out.name) == names.end()) {
      return Invalid(absl::StrCat("outputs: model ", m.description.name, " has no output ",
                                  Quoted(out.name), " (outputs: ", absl::StrJoin(names, ", "),
                                  ")"));
    }
    if (std::find(chosen.begin(), chosen.end(), out.name) != chosen.end()) {
      return Invalid(absl::StrCat("outputs: ", Quoted(out.name), " asked twice"));
    }
    for (const auto& [name, value] : out.parameters) {
      if (front.count(name) == 0) {
        return Invalid(
            absl::StrCat("outputs[", out.name, "].parameters: unknown parameter ", Quoted(name)));
      }
    }
    chosen.push_back(out.name);
  }
  return chosen;
}

const OipTensor* FindInput(const OipRequest& req, const std::string& name) {
  for (const OipTensor& t : req.inputs) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

absl::Status CheckInputNames(const OipRequest& req) {
  std::set<std::string> seen;
  for (const OipTensor& t : req.inputs) {
    if (t.name != "input_ids" && t.name != "attention_mask" && t.name != "text" &&
        t.name != "pixel_values") {
      return Invalid(absl::StrCat("inputs: unknown input ", Quoted(t.name),
                                  " (inputs: input_ids [+ attention_mask], text, pixel_values)"));
    }
    if (!seen.insert(t.name).second)
      return Invalid(absl::StrCat("inputs: ", t.name, " given twice"));
    for (const auto& [name, value] : t.parameters) {
      return Invalid(
          absl::StrCat("inputs[", t.name, "].parameters: unknown parameter ", Quoted(name)));
    }
  }
  const int kinds = (seen.count("input_ids") ? 1 : 0) + (seen.count("text") ? 1 : 0) +
                    (seen.count("pixel_values") ? 1 : 0);
  if (kinds != 1) return Invalid("inputs: give exactly one of input_ids, text and pixel_values");
  if (seen.count("attention_mask") && !seen.count("input_ids")) {
    return Invalid("inputs: attention_mask needs input_ids");
  }
  return absl::OkStatus();
}

// `t` has `rank` dimensions, each at least 1, and `datatype` (one of them).
absl::Status CheckTensor(const OipTensor& t, const std::set<std::string>& datatypes, size_t rank,
                         const std::string& expected) {
  if (datatypes.count(t.datatype) == 0) {
    return Invalid(
        absl::StrCat(t.name, ": datatype ", Quoted(t.datatype), ", expected ", expected));
  }
  if (t.shape.size() != rank) {
    return Invalid(absl::StrCat(t.name, ": shape ", Shape(t.shape), ", expected ", expected));
  }
  for (int64_t d : t.shape) {
    if (d < 1)
      return Invalid(absl::StrCat(t.name, ": shape ", Shape(t.shape), " has an empty dimension"));
  }
  ASSIGN_OR_RETURN(int64_t n, ElementCount(t.shape, t.name));
  const size_t have = t.datatype == "BYTES"                          ? t.bytes.size()
                      : t.datatype == "FP32" || t.datatype == "FP64" ? t.floats.size()
                                                                     : t.ints.size();
  if (static_cast<int64_t>(have) != n) {
    return Invalid(absl::StrCat(t.name, ": ", have, " elements for shape ", Shape(t.shape)));
  }
  return absl::OkStatus();
}

// Row b of input_ids, with the attention mask's padding removed.
absl::Status IdsRow(const OipTensor& ids, const OipTensor* mask, int64_t b, v1::EmbedRequest* row) {
  const int64_t length = ids.shape[1];
  int64_t begin = 0, end = length;
  if (mask != nullptr) {
    const int64_t* m = mask->ints.data() + b * length;
    while (begin < length && m[begin] == 0) ++begin;
    end = begin;
    while (end < length && m[end] == 1) ++end;
    for (int64_t i = 0; i < length; ++i) {
      if ((m[i] != 0 && m[i] != 1) || (m[i] == 1) != (i >= begin && i < end)) {
        return Invalid(
            absl::StrCat("attention_mask[", b, "]: expected 0/1 with the ones in one run"));
      }
    }
    if (begin == end) return Invalid(absl::StrCat("attention_mask[", b, "]: no token is attended"));
  }
  auto* out = row->mutable_token_ids()->mutable_ids();
  out->Reserve(static_cast<int>(end - begin));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t id = ids.ints[b * length + i];
    if (id < 0 || id > INT32_MAX) {
      return Invalid(absl::StrCat("input_ids[", b, ", ", i, "]: ", id, " is not a token id"));
    }
    out->Add(static_cast<int32_t>(id));
  }
  return absl::OkStatus();
}

// One row per batch entry of the single input kind.
absl::StatusOr<std::vector<std::shared_ptr<InferRow>>> SplitRows(OipRequest& req,
                                                                 const InferRow& prototype) {
  std::vector<std::shared_ptr<InferRow>> rows;
  auto add = [&](int64_t count) {
    for (int64_t b = 0; b < count; ++b) rows.push_back(std::make_shared<InferRow>(prototype));
  };
  if (const OipTensor* ids = FindInput(req, "input_ids")) {
    RETURN_IF_ERROR(CheckTensor(*ids, {"INT64", "INT32"}, 2, "INT64 [B, L]"));
    const OipTensor* mask = FindInput(req, "attention_mask");
    if (mask != nullptr) {
      RETURN_IF_ERROR(CheckTensor(*mask, {"INT64", "INT32"}, 2, "INT64 [B, L]"));
      if (mask->shape != ids->shape) {
        return Invalid(absl::StrCat("attention_mask: shape ", Shape(mask->shape),
                                    " differs from input_ids' ", Shape(ids->shape)));
      }
    }
    add(ids->shape[0]);
    for (size_t b = 0; b < rows.size(); ++b) {
      RETURN_IF_ERROR(IdsRow(*ids, mask, static_cast<int64_t>(b), &rows[b]->input));
    }
  } else if (OipTensor* text = const_cast<OipTensor*>(FindInput(req, "text"))) {
    if (text->shape.size() == 2 && text->shape[1] == 1) text->shape.pop_back();  // [B, 1]
    RETURN_IF_ERROR(CheckTensor(*text, {"BYTES"}, 1, "BYTES [B]"));
    add(text->shape[0]);
    for (size_t b = 0; b < rows.size(); ++b) rows[b]->input.set_text(std::move(text->bytes[b]));
  } else {
    const OipTensor& pixels = *FindInput(req, "pixel_values");
    RETURN_IF_ERROR(CheckTensor(pixels, {"FP32"}, 4, "FP32 [B, C, H, W]"));
    add(pixels.shape[0]);
    const int64_t per_row = pixels.shape[1] * pixels.shape[2] * pixels.shape[3];
    for (size_t b = 0; b < rows.size(); ++b) {
      v1::Tensor* t = rows[b]->input.mutable_image()->mutable_pixels();
      for (int d = 1; d < 4; ++d) t->add_shape(pixels.shape[d]);
      const float* begin = pixels.floats.data() + static_cast<int64_t>(b) * per_row;
      t->mutable_data()->Add(begin, begin + per_row);
    }
  }
  return rows;
}

}  // namespace

const std::string& OipVersion() {
  static const std::string* version = new std::string("1");
  return *version;
}

OipModelMeta DescribeForOip(const ServedModel& m) {
  const runtime::ModelDescription& d = m.description;
  OipModelMeta meta;
  meta.name = d.name;
  if (d.architecture == runtime::Architecture::kVit) {
    meta.inputs.push_back(
        {"pixel_values", "FP32", {-1, d.num_channels, d.image_size, d.image_size}});
  } else {
    meta.inputs.push_back({"input_ids", "INT64", {-1, -1}});
    meta.inputs.push_back({"attention_mask", "INT64", {-1, -1}});
    meta.inputs.push_back({"text", "BYTES", {-1}});
  }
  if (IsClassifier(m)) {
    meta.outputs.push_back({"logits", "FP32", {-1, static_cast<int64_t>(d.labels.size())}});
  }
  meta.outputs.push_back({"embeddings", "FP32", {-1, d.hidden_size}});
  meta.outputs.push_back({"token_embeddings", "FP32", {-1, -1, d.hidden_size}});
  return meta;
}

absl::Status CheckVersion(const std::string& version, const std::string& model) {
  if (version.empty() || version == OipVersion()) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("model ", Quoted(model), " has no version ",
                                          Quoted(version), " (served: ", OipVersion(), ")"));
}

absl::StatusOr<int64_t> ElementCount(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return Invalid(absl::StrCat(what, ": shape ", Shape(shape), " has a negative dimension"));
    if (d > 0 && n > (int64_t{1} << 40) / d) {
      return Invalid(absl::StrCat(what, ": shape ", Shape(shape), " is too large"));
    }
    n *= d;
  }
  return n;
}

absl::StatusOr<OipPlan> PlanInfer(OipRequest& req, const ServedModel& model,
                                  const std::set<std::string>& front_parameters) {
  OipPlan plan;
  ASSIGN_OR_RETURN(plan.outputs, ChooseOutputs(req, model, front_parameters));
  RETURN_IF_ERROR(CheckInputNames(req));
  InferRow prototype;
  RETURN_IF_ERROR(ApplyParameters(req.parameters, front_parameters, &prototype.input));
  prototype.input.set_model(model.description.name);
  plan.hidden_size = model.description.hidden_size;
  for (const std::string& name : plan.outputs) {
    prototype.logits |= name == "logits";
    prototype.embeddings |= name == "embeddings";
    prototype.token_embeddings |= name == "token_embeddings";
  }
  ASSIGN_OR_RETURN(plan.rows, SplitRows(req, prototype));
  req.inputs.clear();
  return plan;
}

std::vector<OipOutput> AssembleOutputs(const OipPlan& plan, std::vector<runtime::Result>& results) {
  const int64_t rows = static_cast<int64_t>(results.size());
  std::vector<OipOutput> outputs;
  for (const std::string& name : plan.outputs) {
    OipOutput out;
    out.name = name;
    if (name == "token_embeddings") {
      const int64_t hidden = std::max<int64_t>(1, plan.hidden_size);
      int64_t longest = 0;
      for (const runtime::Result& r : results) {
        longest =
            std::max(longest, static_cast<int64_t>(r.output.token_embeddings.size()) / hidden);
      }
      out.shape = {rows, longest, hidden};
      out.data.assign(static_cast<size_t>(rows * longest * hidden), 0.0f);
      for (int64_t b = 0; b < rows; ++b) {
        const std::vector<float>& t = results[b].output.token_embeddings;
        std::copy(t.begin(), t.end(), out.data.begin() + b * longest * hidden);
      }
    } else {
      for (runtime::Result& r : results) {
        std::vector<float>& v = name == "logits" ? r.output.logits : r.output.pooled;
        out.data.insert(out.data.end(), v.begin(), v.end());
      }
      out.shape = {rows, rows > 0 ? static_cast<int64_t>(out.data.size()) / rows : 0};
    }
    outputs.push_back(std::move(out));
  }
  return outputs;
}

}  // namespace lion::api
