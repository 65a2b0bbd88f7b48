#include "server/runtime/calibration.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/status_macros.h"

namespace lion::runtime {
namespace {

using kernels::Form;

constexpr Form kForms[] = {Form::kFull, Form::kChunk, Form::kRnn};

absl::StatusOr<SequenceOutput> RunOne(Model& model, const SequenceInput& input,
                                      const OutputRequest& outputs, Form form,
                                      int64_t chunk_size) {
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

// Best-of-three seconds for one forward.
// Seconds per sequence of one forward over a batch of `batch` copies of
// `input` (best of 3).
absl::StatusOr<double> Time(Model& model, const SequenceInput& input, const OutputRequest& out,
                            Form form, int64_t chunk_size, int batch) {
  const std::vector<const SequenceInput*> inputs(batch, &input);
  const std::vector<const OutputRequest*> outputs(batch, &out);
  BatchOptions options;
  options.form = form;
  options.chunk_size = chunk_size;
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(model.Forward(inputs, outputs, options).status());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best / batch;
}

// Served traffic comes alone (batch 1) or batched; which form is fastest
// depends on both, so each gets its own limits.
constexpr int kBatchedCalibration = 4;

// Times every form at every length, then derives limits under which the form
// AUTO picks is within kSlack of the fastest at every measured length (single
// best-of-3 timings differ by a few percent between runs). Longer inputs
// follow the longest length measured.
absl::StatusOr<FormThresholds> DeriveThresholds(Model& model, const std::vector<int64_t>& lengths,
                                                const OutputRequest& outputs, int64_t chunk_size,
                                                int batch) {
  constexpr double kSlack = 1.05;
  const ModelDescription& d = model.description();
  std::vector<std::array<double, 3>> times;
  std::vector<int64_t> measured;
  for (int64_t len : lengths) {
    const SequenceInput input = SampleInput(d, len);
    std::array<double, 3> t;
    for (int f = 0; f < 3; ++f) {
      ASSIGN_OR_RETURN(t[f], Time(model, input, outputs, kForms[f], chunk_size, batch));
    }
    times.push_back(t);
    measured.push_back(len);
    // Bound start-up time: stop once a forward gets slow.
    if (std::max({t[0], t[1], t[2]}) * batch > 0.2) break;
  }
  auto near_best = [&](size_t i, int f) {
    return times[i][f] <= kSlack * std::min({times[i][0], times[i][1], times[i][2]});
  };
  FormThresholds th;
  // Full up to the longest length to which it stays near the best.
  for (size_t i = 0; i < measured.size() && near_best(i, 0); ++i) th.full_max_tokens = measured[i];
  // RNN from the shortest length from which it stays near the best, if it is
  // the best at the longest length measured.
  const size_t last = measured.size() - 1;
  if (times[last][2] <= std::min(times[last][0], times[last][1])) {
    size_t from = last;
    while (from > 0 && near_best(from - 1, 2)) --from;
    th.rnn_min_tokens = measured[from];
    if (th.full_max_tokens >= th.rnn_min_tokens) th.full_max_tokens = th.rnn_min_tokens - 1;
  }
  return th;
}

}  // namespace

SequenceInput SampleInput(const ModelDescription& d, int64_t length) {
  SequenceInput in;
  if (d.architecture == "lion_vit") {
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

absl::StatusOr<Calibration> Calibrate(Model& model, int64_t max_length, int64_t threads) {
  const ModelDescription& d = model.description();
  const OutputRequest outputs = SampleOutputs(d);
  std::vector<int64_t> lengths;
  if (d.architecture == "lion_vit") {
    lengths.push_back(SampleInput(d, 0).Length(d.patch_size));
  } else {
    for (int64_t l = 32; l <= std::min<int64_t>(max_length, 1024); l *= 2) lengths.push_back(l);
    if (lengths.empty()) lengths.push_back(std::max<int64_t>(1, max_length));
  }
  Calibration cal{d.name, d.device, threads, 0, 64, 0};
  // Chunk size: the fastest candidate on a long input, batched.
  const SequenceInput longest = SampleInput(d, std::min<int64_t>(lengths.back(), 512));
  double best = 1e30;
  for (int64_t c : {32, 64, 128}) {
    ASSIGN_OR_RETURN(double t, Time(model, longest, outputs, Form::kChunk, c, kBatchedCalibration));
    if (t < best) best = t, cal.chunk_size = c;
  }
  ASSIGN_OR_RETURN(FormThresholds batched,
                   DeriveThresholds(model, lengths, outputs, cal.chunk_size, kBatchedCalibration));
  ASSIGN_OR_RETURN(cal.single, DeriveThresholds(model, lengths, outputs, cal.chunk_size, 1));
  cal.full_max_tokens = batched.full_max_tokens;
  cal.rnn_min_tokens = batched.rnn_min_tokens;
  return cal;
}

absl::StatusOr<Calibration> LoadCalibration(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no calibration at ", path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a calibration JSON object"));
  }
  try {
    Calibration c{j.at("model").get<std::string>(),     j.at("device").get<std::string>(),
                  j.at("threads").get<int64_t>(),       j.at("full_max_tokens").get<int64_t>(),
                  j.at("chunk_size").get<int64_t>(),    j.at("rnn_min_tokens").get<int64_t>()};
    c.single.full_max_tokens = j.at("single").at("full_max_tokens").get<int64_t>();
    c.single.rnn_min_tokens = j.at("single").at("rnn_min_tokens").get<int64_t>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

absl::Status SaveCalibration(const std::string& path, const Calibration& c) {
  nlohmann::json j = {{"model", c.model},
                      {"device", c.device},
                      {"threads", c.threads},
                      {"full_max_tokens", c.full_max_tokens},
                      {"chunk_size", c.chunk_size},
                      {"rnn_min_tokens", c.rnn_min_tokens},
                      {"single",
                       {{"full_max_tokens", c.single.full_max_tokens},
                        {"rnn_min_tokens", c.single.rnn_min_tokens}}}};
  std::error_code ec;  // the cache folder may not exist yet
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string CalibrationPath(const config::FormOptions& options, const ModelDescription& d) {
  if (options.calibration_dir.empty()) return d.model_dir + "/calibration.json";
  return absl::StrCat(options.calibration_dir, "/", d.name, ".calibration.json");
}

FormLimits ResolveLimits(const config::FormOptions& flags, const Calibration& c) {
  FormLimits limits;
  limits.full_max_tokens = flags.full_max_tokens > 0 ? flags.full_max_tokens : c.full_max_tokens;
  limits.chunk_size = flags.chunk_size > 0 ? flags.chunk_size : std::max<int64_t>(1, c.chunk_size);
  limits.rnn_min_tokens = flags.rnn_min_tokens > 0 ? flags.rnn_min_tokens : c.rnn_min_tokens;
  // Flags pin both batch regimes.
  limits.single = FormThresholds{
      flags.full_max_tokens > 0 ? flags.full_max_tokens : c.single.full_max_tokens,
      flags.rnn_min_tokens > 0 ? flags.rnn_min_tokens : c.single.rnn_min_tokens};
  limits.memory_budget_bytes = flags.memory_budget_bytes;
  return limits;
}

}  // namespace lion::runtime
