// lion-serve: wiring only. Watch signals, parse options, start metrics and
// gRPC (NOT_SERVING), load, warm up and calibrate every model, report
// SERVING, wait for SIGTERM/SIGINT, then drain (docs/architecture.md):
// NOT_SERVING and new calls refused -> admitted work finishes (at most
// --drain_timeout_s; a second signal cuts it short, and what is left gets
// UNAVAILABLE) -> gRPC closes -> batchers -> runners.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "server/api/drain_gate.h"
#include "server/api/grpc_server.h"
#include "server/batching/batcher.h"
#include "server/common/allocator.h"
#include "server/common/process_memory.h"
#include "server/common/signal_watcher.h"
#include "server/common/status_macros.h"
#include "server/config/flags.h"
#include "server/metrics/metrics_server.h"
#include "server/runtime/calibration.h"
#include "server/runtime/device_memory.h"
#include "server/runtime/runner.h"
#include "server/runtime/torch_model.h"

#ifndef LION_VERSION
#define LION_VERSION "0.0.0"
#endif
#ifndef LION_GIT_SHA
#define LION_GIT_SHA "unknown"
#endif
#ifndef LION_TORCH_VERSION
#define LION_TORCH_VERSION "unknown"
#endif

namespace lion {
namespace {

bool g_json_logs = false;
std::string g_device = "cpu";  // --device, for the memory metric

// One line per startup step and per error, text or JSON.
void Log(const std::string& level, const std::string& message,
         const std::map<std::string, std::string>& fields = {}) {
  char when[32];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  if (g_json_logs) {
    nlohmann::json line = {{"ts", when}, {"level", level}, {"msg", message}};
    for (const auto& [k, v] : fields) line[k] = v;
    std::cerr << line.dump() << std::endl;
    return;
  }
  std::string text = absl::StrCat(when, " ", level, " ", message);
  for (const auto& [k, v] : fields) absl::StrAppend(&text, " ", k, "=", v);
  std::cerr << text << std::endl;
}

// One served model and the threads that own it.
struct ModelSlot {
  std::unique_ptr<runtime::Runner> runner;
  std::unique_ptr<batching::Batcher> batcher;
};

std::vector<std::string> ModelDirs(const std::string& repository) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(repository, ec)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / "config.json")) {
      dirs.push_back(entry.path().string());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

absl::StatusOr<runtime::Calibration> CalibrationFor(runtime::Model& model,
                                                    const config::ServerOptions& options,
                                                    int64_t max_tokens) {
  const config::FormOptions& pins = options.form;
  if (pins.full_max_tokens > 0 && pins.chunk_size > 0 && pins.rnn_min_tokens > 0) {
    return runtime::Calibration{model.description().name, model.description().device,
                                options.threads, 0, 0, 0};  // every limit pinned by flags
  }
  const std::string path = runtime::CalibrationPath(options.form, model.description());
  if (!options.form.calibrate) {
    auto cached = runtime::LoadCalibration(path);
    if (cached.ok() && cached->device == model.description().device &&
        cached->threads == options.threads) {
      Log("INFO", "calibration loaded", {{"model", cached->model}, {"path", path}});
      return cached;
    }
  }
  ASSIGN_OR_RETURN(runtime::Calibration cal, runtime::Calibrate(model, max_tokens, options.threads));
  if (absl::Status s = runtime::SaveCalibration(path, cal); !s.ok()) {
    Log("WARN", "calibration not cached", {{"model", cal.model}, {"error", std::string(s.message())}});
  }
  Log("INFO", "calibrated", {{"model", cal.model}, {"full_max_tokens", absl::StrCat(cal.full_max_tokens)},
                             {"chunk_size", absl::StrCat(cal.chunk_size)},
                             {"rnn_min_tokens", absl::StrCat(cal.rnn_min_tokens)},
                             {"single_full_max_tokens", absl::StrCat(cal.single.full_max_tokens)},
                             {"single_rnn_min_tokens", absl::StrCat(cal.single.rnn_min_tokens)}});
  return cal;
}

// Runs LibTorch work on a short-lived thread, never on main. Once a thread
// that stays alive has run LibTorch's OpenMP parallel regions, parallel
// regions started from other threads (the runners) ran at about half speed
// here (bench: LION_BENCH_IN_THREAD=1); a finished thread's pool goes with it.
template <typename F>
auto OffMainThread(F f) -> decltype(f()) {
  std::optional<decltype(f())> result;
  std::thread([&] { result.emplace(f()); }).join();
  return *std::move(result);
}

// Load, warm up, calibrate and start the threads of the model in `dir`.
absl::StatusOr<std::unique_ptr<api::ServedModel>> StartModel(const std::string& dir,
                                                             const config::ServerOptions& options,
                                                             metrics::Metrics* metrics,
                                                             ModelSlot* slot) {
  runtime::TorchModelOptions torch_options;
  torch_options.device = options.device;
  torch_options.threads = options.threads;
  torch_options.dtype = options.dtype;
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::Model> model,
                   OffMainThread([&] { return runtime::LoadTorchModel(dir, torch_options); }));
  auto served = std::make_unique<api::ServedModel>();
  served->description = model->description();
  const runtime::ModelDescription& d = served->description;
  Log("INFO", "model loaded", {{"model", d.name}, {"dir", dir}, {"architecture", d.architecture}});
  served->max_input_tokens = d.max_input_tokens > 0
                                 ? std::min(d.max_input_tokens, options.max_input_tokens)
                                 : options.max_input_tokens;
  served->max_text_bytes = options.max_text_bytes;
  served->max_response_bytes = options.max_message_bytes;
  const int64_t warm_chunk = options.form.chunk_size > 0 ? options.form.chunk_size : 64;
  RETURN_IF_ERROR(OffMainThread([&] { return runtime::WarmUp(*model, warm_chunk); }));
  Log("INFO", "model warmed up", {{"model", d.name}});
  ASSIGN_OR_RETURN(runtime::Calibration cal,
                   OffMainThread([&] {
                     return CalibrationFor(*model, options, served->max_input_tokens);
                   }));
  served->limits = runtime::DeviceFormLimits(runtime::ResolveLimits(options.form, cal), d.device,
                                             options.form.memory_budget_bytes);
  if (d.architecture != "lion_vit") {
    ASSIGN_OR_RETURN(served->tokenizer, api::LoadTokenizer(dir, d.vocab_size));
  }
  metrics->AddModel({d.name, d.architecture, d.variant,
                     d.task == runtime::Task::kMlm ? "mlm" : "classification", d.device});
  ASSIGN_OR_RETURN(slot->runner,
                   runtime::Runner::Create(std::move(model), served->limits, Clock::Real(), metrics));
  runtime::Runner* runner = slot->runner.get();
  batching::BatcherOptions batcher_options{d.name, options.batching,
                                           /*wait_for_idle_runner=*/true};
  ASSIGN_OR_RETURN(slot->batcher,
                   batching::Batcher::Create(batcher_options, Clock::Real(), metrics,
                                             [runner](runtime::Batch b) { runner->Submit(std::move(b)); }));
  batching::Batcher* batcher = slot->batcher.get();
  runner->SetOnIdle([batcher](double tokens_per_second) { batcher->RunnerIdle(tokens_per_second); });
  served->batcher = slot->batcher.get();
  return served;
}

// Resident memory of the process (the CPU device's "used"); peak is the high-water mark.
void RecordMemory(metrics::Metrics* metrics) {
  const ProcessMemory memory = ReadProcessMemory();
  const int64_t total = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  metrics->SetDeviceMemory("cpu", memory.resident_bytes, total, memory.peak_bytes);
  if (g_device != "cpu") runtime::RecordDeviceMemory(metrics, g_device);
}

int Fail(const absl::Status& status) {
  Log("ERROR", std::string(status.message()), {{"code", absl::StatusCodeToString(status.code())}});
  return 1;
}

// What is left after a drain that did not finish: queued requests and the
// running batch complete with UNAVAILABLE.
void AbandonWork(std::vector<ModelSlot>& slots, const std::string& why) {
  for (auto& slot : slots) slot.batcher->Stop();
  for (auto& slot : slots) slot.runner->Abort(why);
}

// SIGTERM/SIGINT while serving: NOT_SERVING at once, new calls refused, every
// admitted call finishes within the drain timeout (or until a second
// signal), then the listener closes.
void Drain(int signal_number, const config::ServerOptions& options, const SignalWatcher& signals,
           api::DrainGate& gate, api::GrpcServer& grpc_server, std::vector<ModelSlot>& slots) {
  Log("INFO", "draining", {{"signal", absl::StrCat(signal_number)},
                           {"in_flight", absl::StrCat(gate.in_flight())},
                           {"drain_timeout_s", absl::StrCat(options.drain_timeout_s)}});
  gate.BeginDrain();
  grpc_server.SetServing(false);
  for (auto& slot : slots) slot.batcher->Flush();
  const absl::Time deadline = absl::Now() + absl::Seconds(options.drain_timeout_s);
  if (gate.WaitIdle(deadline, &signals.second())) {
    Log("INFO", "drained");
  } else {
    const bool interrupted = signals.second().load();
    const std::string why = interrupted ? "is shutting down: a second signal ended the drain"
                                        : "is shutting down: the drain timed out";
    Log("WARN", "drain cut short", {{"reason", interrupted ? "second signal" : "timeout"},
                                    {"in_flight", absl::StrCat(gate.in_flight())}});
    AbandonWork(slots, why);
  }
  // Open streams with nothing admitted are cancelled after a short grace.
  grpc_server.Shutdown(std::chrono::seconds(1));
}

int Run(int argc, char** argv) {
  // First: a signal during start-up (a model file that never finishes
  // reading, a long calibration) ends the process at once; nothing has been
  // admitted yet, so nothing is lost.
  std::unique_ptr<SignalWatcher> signals = SignalWatcher::Start([](int signal_number) {
    Log("INFO", "stopped during start-up", {{"signal", absl::StrCat(signal_number)}});
    std::_Exit(0);
  });

  auto parsed = config::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc),
                                         config::ProcessEnv());
  if (parsed.ok() && parsed->help) {
    std::cout << config::HelpText("lion-serve");
    return 0;
  }
  absl::Status valid = parsed.ok() ? parsed->options.Validate() : parsed.status();
  if (!valid.ok()) {
    std::cerr << "lion-serve: " << valid.message() << "\n(see lion-serve --help)\n";
    return 2;
  }
  config::ServerOptions options = parsed->options;
  if (options.threads == 0) options.threads = std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN));
  g_json_logs = options.log_format == "json";
  g_device = options.device;
  Log("INFO", "starting lion-serve", {{"version", LION_VERSION}, {"repository", options.model_repository},
                                      {"allocator", std::string(AllocatorName())}});

  metrics::Metrics metrics({LION_VERSION, LION_GIT_SHA, LION_TORCH_VERSION});
  std::unique_ptr<api::ApiKeys> keys;
  if (!options.api_key_file.empty()) {
    auto loaded = api::ApiKeys::Load(options.api_key_file);
    if (!loaded.ok()) return Fail(loaded.status());
    keys = *std::move(loaded);
  }
  // Serve metrics and health (NOT_SERVING) while the models load.
  api::ModelRegistry registry;
  api::DrainGate gate;
  api::ServiceContext context{&registry, keys.get(), &metrics, Clock::Real(), &gate};
  context.wire.max_text_bytes = options.max_text_bytes;
  context.max_message_bytes = options.max_message_bytes;
  context.max_stream_in_flight = options.max_stream_in_flight;
  context.preprocess_threads = static_cast<int>(std::max<int64_t>(1, options.threads / 2));
  auto metrics_server = metrics::MetricsServer::Create(options.metrics_address, &metrics,
                                                       [&metrics] { RecordMemory(&metrics); });
  if (!metrics_server.ok()) return Fail(metrics_server.status());
  auto grpc_server = api::GrpcServer::Create(options, context);
  if (!grpc_server.ok()) return Fail(grpc_server.status());
  Log("INFO", "listening", {{"grpc_port", absl::StrCat((*grpc_server)->port())},
                            {"metrics_port", absl::StrCat((*metrics_server)->port())}});

  const std::vector<std::string> dirs = ModelDirs(options.model_repository);
  if (dirs.empty()) {
    return Fail(absl::NotFoundError(absl::StrCat("no model directories (with config.json) in ",
                                                 options.model_repository)));
  }
  std::vector<ModelSlot> slots(dirs.size());
  std::vector<std::unique_ptr<api::ServedModel>> served;
  for (size_t i = 0; i < dirs.size(); ++i) {
    auto model = StartModel(dirs[i], options, &metrics, &slots[i]);
    if (!model.ok()) return Fail(model.status());
    served.push_back(*std::move(model));
  }
  signals->Serve();  // from here on a signal drains instead of exiting
  registry.Publish(std::move(served));
  (*grpc_server)->SetServing(true);
  Log("INFO", "serving", {{"grpc_port", absl::StrCat((*grpc_server)->port())},
                          {"metrics_port", absl::StrCat((*metrics_server)->port())},
                          {"models", absl::StrCat(registry.models().size())}});

  Drain(signals->WaitFirst(), options, *signals, gate, **grpc_server, slots);
  for (auto& slot : slots) slot.batcher->Stop();
  for (auto& slot : slots) slot.runner->Stop();
  grpc_server->reset();
  metrics_server->reset();
  Log("INFO", "stopped");
  return 0;
}

}  // namespace
}  // namespace lion

int main(int argc, char** argv) { return lion::Run(argc, argv); }
