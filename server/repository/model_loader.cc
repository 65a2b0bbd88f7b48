#include "server/repository/model_loader.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/clock.h"
#include "server/common/status_macros.h"
#include "server/repository/repository_scan.h"
#include "server/runtime/calibration.h"
#include "server/runtime/device_memory.h"
#include "server/runtime/runner.h"
#include "server/runtime/torch_model.h"
#include "server/runtime/warm_up.h"

namespace lion::repository {
namespace {

// Runs LibTorch work on a short-lived thread, never on main or the
// repository's thread. Once a thread that stays alive has run LibTorch's
// OpenMP parallel regions, parallel regions started from other threads (the
// runners) ran at about half speed here (bench: LION_BENCH_IN_THREAD=1); a
// finished thread's pool goes with it.
template <typename F>
auto OffMainThread(F f) -> decltype(f()) {
  std::optional<decltype(f())> result;
  std::thread([&] { result.emplace(f()); }).join();
  return *std::move(result);
}

double SecondsSince(TimePoint start) {
  return std::chrono::duration<double>(Clock::Real()->Now() - start).count();
}

// Longest input a model serves: its position limit, capped by the flag.
int64_t MaxInputTokens(const runtime::ModelDescription& d, const config::ServerOptions& options) {
  return d.max_input_tokens > 0 ? std::min(d.max_input_tokens, options.max_input_tokens)
                                : options.max_input_tokens;
}

absl::StatusOr<std::unique_ptr<runtime::Model>> LoadModel(const std::string& dir,
                                                          const config::ServerOptions& options) {
  runtime::TorchModelOptions torch_options;
  torch_options.device = options.device;
  torch_options.threads = options.threads;
  torch_options.dtype = options.dtype;
  return OffMainThread([&] { return runtime::LoadTorchModel(dir, torch_options); });
}

// The model's limits: pinned, cached or calibrated (runtime::CalibrateModel).
absl::StatusOr<runtime::CalibrationOutcome> Calibrate(const runtime::Model& model,
                                                      const config::ServerOptions& options,
                                                      const LogFn& log) {
  const runtime::ModelDescription& d = model.description();
  auto outcome = OffMainThread(
      [&] { return runtime::CalibrateModel(d, options, MaxInputTokens(d, options)); });
  if (outcome.ok()) {
    for (const std::string& w : outcome->warnings) log("WARN", w, {{"model", d.name}});
  }
  return outcome;
}

// Seconds the calibration phase took; 0 when nothing was timed (cache or flags).
double CalibrationSeconds(const runtime::CalibrationOutcome& cal, TimePoint start) {
  return cal.source == runtime::CalibrationSource::kComputed ? SecondsSince(start) : 0.0;
}

// The limits in force for a model on its device.
runtime::FormLimits LimitsFor(const runtime::ModelDescription& d,
                              const config::ServerOptions& options,
                              const runtime::CalibrationOutcome& cal) {
  return runtime::DeviceFormLimits(runtime::ResolveLimits(options.form, cal.calibration), d.device,
                                   options.form.memory_budget_bytes);
}

// The fields of a model's one start-up line: phase times, where its limits
// came from and the limits in force.
std::map<std::string, std::string> StartupFields(const runtime::ModelDescription& d,
                                                 const runtime::CalibrationOutcome& cal,
                                                 const runtime::FormLimits& limits,
                                                 const std::map<std::string, double>& seconds) {
  const runtime::FormThresholds single = limits.single.value_or(
      runtime::FormThresholds{limits.full_max_tokens, limits.rnn_min_tokens});
  std::map<std::string, std::string> f = {
      {"model", d.name},
      {"architecture", model::ArchitectureName(d.architecture)},
      {"dir", d.model_dir},
      {"calibration", runtime::CalibrationSourceName(cal.source)},
      {"full_max_tokens", absl::StrCat(limits.full_max_tokens)},
      {"chunk_size", absl::StrCat(limits.chunk_size)},
      {"rnn_min_tokens", absl::StrCat(limits.rnn_min_tokens)},
      {"single_full_max_tokens", absl::StrCat(single.full_max_tokens)},
      {"single_rnn_min_tokens", absl::StrCat(single.rnn_min_tokens)}};
  if (!cal.cache_path.empty()) f["cache"] = cal.cache_path;
  for (const auto& [phase, s] : seconds) f[phase + "_s"] = absl::StrFormat("%.3f", s);
  return f;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> StartModel(const std::string& dir,
                                                        const config::ServerOptions& options,
                                                        metrics::Metrics* metrics,
                                                        const LogFn& log) {
  TimePoint start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model, LoadModel(dir, options));
  const double load_s = SecondsSince(start);
  auto served = std::make_unique<ServedModel>();
  served->description = model->description();
  const runtime::ModelDescription& d = served->description;
  served->max_input_tokens = MaxInputTokens(d, options);
  served->max_text_bytes = options.max_text_bytes;
  served->max_response_bytes = options.max_message_bytes;
  const int64_t warm_chunk = options.form.chunk_size > 0 ? options.form.chunk_size : 64;
  start = Clock::Real()->Now();
  RETURN_IF_ERROR(OffMainThread([&] { return runtime::WarmUp(*model, warm_chunk); }));
  const double warmup_s = SecondsSince(start);
  start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(runtime::CalibrationOutcome cal, Calibrate(*model, options, log));
  const double calibration_s = CalibrationSeconds(cal, start);
  served->limits = LimitsFor(d, options, cal);
  if (d.architecture != runtime::Architecture::kVit) {
    ASSIGN_OR_RETURN(served->tokenizer, LoadTokenizer(dir, d.vocab_size));
  }
  metrics->AddModel(MetricLabels(d));
  metrics->SetModelLoadSeconds(d.name, metrics::LoadPhase::kLoad, load_s);
  metrics->SetModelLoadSeconds(d.name, metrics::LoadPhase::kWarmup, warmup_s);
  metrics->SetModelLoadSeconds(d.name, metrics::LoadPhase::kCalibration, calibration_s);
  auto threads = std::make_unique<ModelThreads>();
  ASSIGN_OR_RETURN(threads->runner, runtime::Runner::Create(std::move(model), served->limits,
                                                            Clock::Real(), metrics));
  runtime::Runner* runner = threads->runner.get();
  batching::BatcherOptions batcher_options{d.name, options.batching,
                                           /*wait_for_idle_runner=*/true};
  ASSIGN_OR_RETURN(threads->batcher, batching::Batcher::Create(batcher_options, Clock::Real(),
                                                               metrics, [runner](runtime::Batch b) {
                                                                 runner->Submit(std::move(b));
                                                               }));
  batching::Batcher* batcher = threads->batcher.get();
  runner->SetOnIdle(
      [batcher](const runtime::BatchCost& cost) { batcher->RunnerIdle(cost); });
  served->batcher = batcher;
  served->threads = std::move(threads);
  log("INFO", "model started",
      StartupFields(d, cal, served->limits,
                    {{"load", load_s}, {"warmup", warmup_s}, {"calibration", calibration_s}}));
  return served;
}

absl::Status CalibrateModelOnly(const std::string& dir, const config::ServerOptions& options,
                                const LogFn& log) {
  TimePoint start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model, LoadModel(dir, options));
  const double load_s = SecondsSince(start);
  start = Clock::Real()->Now();
  ASSIGN_OR_RETURN(runtime::CalibrationOutcome cal, Calibrate(*model, options, log));
  const double calibration_s = CalibrationSeconds(cal, start);
  const runtime::ModelDescription& d = model->description();
  log("INFO", "model calibrated",
      StartupFields(d, cal, LimitsFor(d, options, cal),
                    {{"load", load_s}, {"calibration", calibration_s}}));
  return absl::OkStatus();
}

absl::StatusOr<int> CalibrateRepository(const config::ServerOptions& options, const LogFn& log) {
  const std::vector<ModelDirectory> dirs = ScanRepository(options.model_repository);
  if (dirs.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no model directories (with config.json) in ", options.model_repository));
  }
  for (const ModelDirectory& dir : dirs)
    RETURN_IF_ERROR(CalibrateModelOnly(dir.path, options, log));
  return static_cast<int>(dirs.size());
}

}  // namespace lion::repository
