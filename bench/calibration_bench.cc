// Calibration before and after, side by side, in one process and on the same
// loaded models: the whole-model calibration lion-serve ran until the
// attention-core calibration replaced it (whole forwards of every form at
// 32..1024 tokens, best of 3 each, stopping after a forward over 0.2 s; a
// vision model at its image's length), and the attention-core calibration
// that lion-serve runs now (runtime/calibration_ladder.h). Both derive their
// limits with the same rules (runtime/timing_table.h). Prints, per model, the
// seconds each phase took, both timing tables, and the form the policy then
// picks at each length for a lone request and for a batch of 4, with, where
// they differ, whole forwards of both choices alternated.
//   build/bench/calibration_bench [--threads=N] [--max_input_tokens=N]
//       [--whole_model=false] MODEL_DIR...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/clock.h"
#include "server/common/status_macros.h"
#include "server/runtime/attention_timer.h"
#include "server/runtime/calibration.h"
#include "server/runtime/calibration_ladder.h"
#include "server/runtime/runner.h"
#include "server/runtime/torch_model.h"
#include "server/runtime/warm_up.h"

namespace lion::runtime {
namespace {

using kernels::Form;

// LibTorch work on a short-lived thread, as lion-serve does it (main.cc).
template <typename F>
auto OffMainThread(F f) -> decltype(f()) {
  std::optional<decltype(f())> result;
  std::thread([&] { result.emplace(f()); }).join();
  return *std::move(result);
}

double Since(TimePoint start) {
  return std::chrono::duration<double>(Clock::Real()->Now() - start).count();
}

// Whole forwards of the model, best of `reps`: the timer of the whole-model
// calibration (3 reps).
class ModelTimer final : public FormTimer {
 public:
  explicit ModelTimer(Model& model, int reps = 3) : model_(model), reps_(reps) {}

  absl::StatusOr<double> SecondsPerSequence(Form form, int64_t length, int64_t batch,
                                            int64_t chunk_size) override {
    const ModelDescription& d = model_.description();
    const SequenceInput input = SampleInput(d, length);
    const OutputRequest outputs = SampleOutputs(d);
    const std::vector<const SequenceInput*> inputs(batch, &input);
    const std::vector<const OutputRequest*> wants(batch, &outputs);
    BatchOptions options{form, chunk_size};
    double best = 1e30;
    for (int rep = 0; rep < reps_; ++rep) {
      const TimePoint start = Clock::Real()->Now();
      RETURN_IF_ERROR(model_.Forward(inputs, wants, options).status());
      best = std::min(best, Since(start));
    }
    return best / static_cast<double>(batch);
  }

 private:
  Model& model_;
  const int reps_;
};

// Whole forwards of two forms alternated (A B A B ...), best of `pairs` each:
// a slow phase of the machine hits both. Returns seconds(a) / seconds(b).
absl::StatusOr<double> AlternatedRatio(Model& model, Form a, Form b, int64_t length, int64_t batch,
                                       int64_t chunk_a, int64_t chunk_b, int pairs) {
  ModelTimer timer(model, /*reps=*/1);
  double best_a = 1e30, best_b = 1e30;
  for (int i = 0; i < pairs; ++i) {
    ASSIGN_OR_RETURN(double ta, timer.SecondsPerSequence(a, length, batch, chunk_a));
    ASSIGN_OR_RETURN(double tb, timer.SecondsPerSequence(b, length, batch, chunk_b));
    best_a = std::min(best_a, ta);
    best_b = std::min(best_b, tb);
  }
  return best_a / best_b;
}

// The whole-model calibration's plan.
CalibrationPlan WholeModelPlan(const ModelDescription& d, int64_t max_length) {
  CalibrationPlan plan = PlanFor(d, max_length, config::FormOptions());
  if (plan.open_ended) {
    plan.lengths.clear();
    for (int64_t l = 32; l <= std::min<int64_t>(max_length, 1024); l *= 2)
      plan.lengths.push_back(l);
    if (plan.lengths.empty()) plan.lengths.push_back(std::max<int64_t>(1, max_length));
    plan.chunk_length = std::min<int64_t>(plan.lengths.back(), 512);
  }
  plan.prune = false;
  plan.min_rounds = plan.max_rounds = 1;  // ModelTimer takes the best of 3 itself
  plan.max_call_seconds = 0.2;
  plan.climb_budget_seconds = 1e30;
  plan.memory_budget_bytes = int64_t{1} << 62;  // it never looked at memory
  return plan;
}

std::string Cell(const std::optional<double>& seconds) {
  return seconds.has_value() ? absl::StrFormat("%.1f", *seconds * 1e6) : "-";
}

void PrintTable(const char* title, const TimingTable& t) {
  std::printf("\n%s: microseconds per sequence (chunk size %lld", title,
              static_cast<long long>(t.chunk_size));
  for (const ChunkTiming& c : t.chunk_sizes) {
    std::printf("; C=%lld: %.1f", static_cast<long long>(c.chunk_size), c.seconds * 1e6);
  }
  std::printf(
      " at %lld tokens)\n\n| batch | length | full | chunk | rnn |\n|---|---|---|---|---|\n",
      static_cast<long long>(t.chunk_length));
  for (const auto& [batch, rows] :
       {std::make_pair(kCalibrationBatch, &t.batched), std::make_pair(int64_t{1}, &t.single)}) {
    for (const FormTimes& r : *rows) {
      std::printf("| %lld | %lld | %s | %s | %s |\n", static_cast<long long>(batch),
                  static_cast<long long>(r.length), Cell(r.seconds[0]).c_str(),
                  Cell(r.seconds[1]).c_str(), Cell(r.seconds[2]).c_str());
    }
  }
}

struct Run {
  Calibration calibration;
  TimingTable table;
  double seconds = 0;
};

absl::StatusOr<Run> Calibrate(FormTimer& timer, const CalibrationPlan& plan) {
  Run run;
  const TimePoint start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(run.table, MeasureTable(timer, plan, Clock::Real()));
  run.seconds = Since(start);
  run.calibration = DeriveCalibration(run.table);
  return run;
}

absl::Status Compare(const std::string& dir, int64_t threads, int64_t max_input_tokens,
                     bool whole_model) {
  TorchModelOptions options;
  options.threads = static_cast<int>(threads);
  TimePoint start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                   OffMainThread([&] { return LoadTorchModel(dir, options); }));
  const double load_s = Since(start);
  const ModelDescription& d = model->description();
  const int64_t max_length =
      d.max_input_tokens > 0 ? std::min(d.max_input_tokens, max_input_tokens) : max_input_tokens;
  start = Clock::Real()->Now();
  RETURN_IF_ERROR(OffMainThread([&] { return WarmUp(*model, 64); }));
  const double warmup_s = Since(start);
  const CalibrationPlan core_plan = PlanFor(d, max_length, config::FormOptions());
  ASSIGN_OR_RETURN(Run core, OffMainThread([&]() -> absl::StatusOr<Run> {
                     ASSIGN_OR_RETURN(auto timer,
                                      AttentionTimer::Create(AttentionTimerOptionsFor(d, threads)));
                     return Calibrate(*timer, core_plan);
                   }));
  std::optional<Run> whole;
  if (whole_model) {
    ASSIGN_OR_RETURN(whole, OffMainThread([&] {
                       ModelTimer timer(*model);
                       return Calibrate(timer, WholeModelPlan(d, max_length));
                     }));
  }
  std::printf("\n## %s (%s, variant %s, %lld layers, width %lld, %lld heads)\n\n", d.name.c_str(),
              lion::model::ArchitectureName(d.architecture), d.variant.c_str(),
              static_cast<long long>(d.num_layers), static_cast<long long>(d.hidden_size),
              static_cast<long long>(d.num_heads));
  std::printf(
      "load %.2f s, warm-up %.2f s, whole-model calibration %s s, core calibration %.2f s\n",
      load_s, warmup_s, whole ? absl::StrFormat("%.2f", whole->seconds).c_str() : "-",
      core.seconds);
  // The forms the policy picks under each calibration, at every length either timed.
  std::set<int64_t> lengths;
  for (const Run* r : {whole ? &*whole : nullptr, &core}) {
    if (r == nullptr) continue;
    for (const FormTimes& row : r->table.batched) lengths.insert(row.length);
    for (const FormTimes& row : r->table.single) lengths.insert(row.length);
  }
  const AttentionDims dims = DimsOf(d);
  // Where the two choose differently, whole forwards of both choices,
  // alternated: what the core's choice costs against the whole-model
  // calibration's, with less noise than either calibration's own timings.
  std::printf(
      "\n| length | batch | whole-model calibration | core calibration | whole forwards, core's "
      "choice / whole-model's (alternated, best of 5) |\n|---|---|---|---|---|\n");
  const FormLimits core_limits = ResolveLimits(config::FormOptions(), core.calibration);
  for (int64_t batch : {int64_t{1}, kCalibrationBatch}) {
    for (int64_t length : lengths) {
      const Form core_form = ChooseForm(core_limits, dims, batch, length);
      std::string old_name = "-", ratio = "-";
      if (whole) {
        const FormLimits old_limits = ResolveLimits(config::FormOptions(), whole->calibration);
        const Form old_form = ChooseForm(old_limits, dims, batch, length);
        old_name = kernels::FormName(old_form);
        ratio = "same form";
        if (old_form != core_form) {
          ASSIGN_OR_RETURN(double r, OffMainThread([&] {
                             return AlternatedRatio(*model, core_form, old_form, length, batch,
                                                    core_limits.chunk_size, old_limits.chunk_size,
                                                    5);
                           }));
          ratio = absl::StrFormat("%.3f", r);
        }
      }
      std::printf("| %lld | %lld | %s | %s | %s |\n", static_cast<long long>(length),
                  static_cast<long long>(batch), old_name.c_str(), kernels::FormName(core_form),
                  ratio.c_str());
      std::fflush(stdout);
    }
  }
  if (whole) PrintTable("whole model", whole->table);
  PrintTable("attention core", core.table);
  return absl::OkStatus();
}

}  // namespace
}  // namespace lion::runtime

int main(int argc, char** argv) {
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  int64_t max_input_tokens = 8192;
  bool whole_model = true;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      const std::string prefix = absl::StrCat(flag, "=");
      if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("--threads")) {
      if (!absl::SimpleAtoi(*v, &threads)) return 2;
    } else if (auto v = value("--max_input_tokens")) {
      if (!absl::SimpleAtoi(*v, &max_input_tokens)) return 2;
    } else if (auto v = value("--whole_model")) {
      if (!absl::SimpleAtob(*v, &whole_model)) return 2;
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    } else {
      dirs.push_back(arg);
    }
  }
  if (dirs.empty()) {
    std::fprintf(stderr,
                 "usage: %s [--threads=N] [--max_input_tokens=N] [--whole_model=false] DIR...\n",
                 argv[0]);
    return 2;
  }
  std::printf("threads %lld, max_input_tokens %lld\n", static_cast<long long>(threads),
              static_cast<long long>(max_input_tokens));
  for (const std::string& dir : dirs) {
    if (absl::Status s = lion::runtime::Compare(dir, threads, max_input_tokens, whole_model);
        !s.ok()) {
      std::fprintf(stderr, "%s: %s\n", dir.c_str(), s.ToString().c_str());
      return 1;
    }
    std::fflush(stdout);
  }
  return 0;
}
