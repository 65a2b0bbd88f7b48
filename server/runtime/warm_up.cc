#include "server/runtime/warm_up.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace lion::runtime {
namespace {

using kernels::Form;

constexpr Form kForms[] = {Form::kFull, Form::kChunk, Form::kRnn};

absl::StatusOr<SequenceOutput> RunOne(Model& model, const SequenceInput& input,
                                      const OutputRequest& outputs, Form form, int64_t chunk_size) {
  BatchOptions options;
  options.form = form;
  options.chunk_size = chunk_size;
  ASSIGN_OR_RETURN(auto out, model.Forward({&input}, {&outputs}, options));
  if (out.size() != 1) return absl::InternalError("forward returned a wrong batch");
  return std::move(out[0]);
}

std::vector<float> Flatten(const SequenceOutput& o) {
  std::vector<float> all = o.logits;
  for (const auto* v : {&o.pooled, &o.token_embeddings, &o.mlm_logits}) {
    all.insert(all.end(), v->begin(), v->end());
  }
  return all;
}

}  // namespace

SequenceInput SampleInput(const ModelDescription& d, int64_t length) {
  SequenceInput in;
  if (d.architecture == Architecture::kVit) {
    in.channels = std::max<int64_t>(1, d.num_channels);
    in.height = in.width = d.image_size;
    in.pixels.resize(static_cast<size_t>(in.channels * in.height * in.width));
    for (size_t i = 0; i < in.pixels.size(); ++i) in.pixels[i] = std::sin(0.37f * i);
    return in;
  }
  const int64_t vocab = std::max<int64_t>(2, d.vocab_size);
  for (int64_t i = 0; i < length; ++i) {
    in.token_ids.push_back(static_cast<int32_t>(1 + (i * 7919) % (vocab - 1)));
  }
  return in;
}

OutputRequest SampleOutputs(const ModelDescription& d) {
  OutputRequest out;
  out.pooled = true;
  if (d.task == Task::kClassification) out.logits = true;
  if (d.task == Task::kMlm) out.mlm_positions = {0};
  return out;
}

absl::Status WarmUp(Model& model, int64_t chunk_size) {
  const ModelDescription& d = model.description();
  const SequenceInput input = SampleInput(d, 24);
  const OutputRequest outputs = SampleOutputs(d);
  // A chunk smaller than the input, so the chunk form really crosses chunks.
  const int64_t chunk = std::max<int64_t>(1, std::min(chunk_size, input.Length(d.patch_size) / 3));
  std::vector<float> reference;
  for (Form form : kForms) {
    auto out = RunOne(model, input, outputs, form, chunk);
    if (!out.ok()) {
      return absl::Status(out.status().code(),
                          absl::StrCat("model ", d.name, ": warm-up in the ",
                                       kernels::FormName(form), " form: ", out.status().message()));
    }
    std::vector<float> flat = Flatten(*out);
    if (form == Form::kFull) {
      reference = std::move(flat);
      continue;
    }
    bool same = flat.size() == reference.size();
    for (size_t i = 0; same && i < flat.size(); ++i) {
      same = std::abs(flat[i] - reference[i]) <= 1e-3f + 1e-3f * std::abs(reference[i]);
    }
    if (!same) {
      return absl::InternalError(absl::StrCat("model ", d.name, ": the ", kernels::FormName(form),
                                              " form disagrees with the full form at warm-up"));
    }
  }
  return absl::OkStatus();
}

}  // namespace lion::runtime
