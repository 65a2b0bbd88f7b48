#include "server/repository/model_loader.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/common/clock.h"
#include "server/common/status_macros.h"
#include "server/runtime/calibration.h"
#include "server/runtime/device_memory.h"
#include "server/runtime/runner.h"
#include "server/runtime/torch_model.h"

namespace lion::repository {
namespace {

absl::StatusOr<runtime::Calibration> CalibrationFor(runtime::Model& model,
                                                    const config::ServerOptions& options,
                                                    int64_t max_tokens, const LogFn& log) {
  const config::FormOptions& pins = options.form;
  if (pins.full_max_tokens > 0 && pins.chunk_size > 0 && pins.rnn_min_tokens > 0) {
    return runtime::Calibration{model.description().name,
                                model.description().device,
                                options.threads,
                                0,
                                0,
                                0};  // every limit pinned by flags
  }
  const std::string path = runtime::CalibrationPath(options.form, model.description());
  if (!options.form.calibrate) {
    auto cached = runtime::LoadCalibration(path);
    if (cached.ok() && cached->device == model.description().device &&
        cached->threads == options.threads) {
      log("INFO", "calibration loaded", {{"model", cached->model}, {"path", path}});
      return cached;
    }
  }
  ASSIGN_OR_RETURN(runtime::Calibration cal,
                   runtime::Calibrate(model, max_tokens, options.threads));
  if (absl::Status s = runtime::SaveCalibration(path, cal); !s.ok()) {
    log("WARN", "calibration not cached",
        {{"model", cal.model}, {"error", std::string(s.message())}});
  }
  log("INFO", "calibrated",
      {{"model", cal.model},
       {"full_max_tokens", absl::StrCat(cal.full_max_tokens)},
       {"chunk_size", absl::StrCat(cal.chunk_size)},
       {"rnn_min_tokens", absl::StrCat(cal.rnn_min_tokens)},
       {"single_full_max_tokens", absl::StrCat(cal.single.full_max_tokens)},
       {"single_rnn_min_tokens", absl::StrCat(cal.single.rnn_min_tokens)}});
  return cal;
}

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

}  // namespace

absl::StatusOr<std::unique_ptr<ServedModel>> StartModel(const std::string& dir,
                                                        const config::ServerOptions& options,
                                                        metrics::Metrics* metrics,
                                                        const LogFn& log) {
  runtime::TorchModelOptions torch_options;
  torch_options.device = options.device;
  torch_options.threads = options.threads;
  torch_options.dtype = options.dtype;
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model,
                   OffMainThread([&] { return runtime::LoadTorchModel(dir, torch_options); }));
  auto served = std::make_unique<ServedModel>();
  served->description = model->description();
  const runtime::ModelDescription& d = served->description;
  log("INFO", "model loaded", {{"model", d.name}, {"dir", dir}, {"architecture", d.architecture}});
  served->max_input_tokens = d.max_input_tokens > 0
                                 ? std::min(d.max_input_tokens, options.max_input_tokens)
                                 : options.max_input_tokens;
  served->max_text_bytes = options.max_text_bytes;
  served->max_response_bytes = options.max_message_bytes;
  const int64_t warm_chunk = options.form.chunk_size > 0 ? options.form.chunk_size : 64;
  RETURN_IF_ERROR(OffMainThread([&] { return runtime::WarmUp(*model, warm_chunk); }));
  log("INFO", "model warmed up", {{"model", d.name}});
  ASSIGN_OR_RETURN(runtime::Calibration cal, OffMainThread([&] {
                     return CalibrationFor(*model, options, served->max_input_tokens, log);
                   }));
  served->limits = runtime::DeviceFormLimits(runtime::ResolveLimits(options.form, cal), d.device,
                                             options.form.memory_budget_bytes);
  if (d.architecture != "lion_vit") {
    ASSIGN_OR_RETURN(served->tokenizer, LoadTokenizer(dir, d.vocab_size));
  }
  metrics->AddModel({d.name, d.architecture, d.variant,
                     d.task == runtime::Task::kMlm ? "mlm" : "classification", d.device});
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
      [batcher](double tokens_per_second) { batcher->RunnerIdle(tokens_per_second); });
  served->batcher = batcher;
  served->threads = std::move(threads);
  return served;
}

}  // namespace lion::repository
