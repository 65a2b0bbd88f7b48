// lion-serve: wiring only. Watch signals, parse options, start metrics, gRPC
// and HTTP (NOT_SERVING), load, warm up and calibrate every model (the model
// repository), report SERVING, wait for SIGTERM/SIGINT, then drain
// (docs/architecture.md): NOT_SERVING and new calls refused -> no more model
// loads -> admitted work finishes (at most --drain_timeout_s; a second signal
// cuts it short, and what is left gets UNAVAILABLE) -> gRPC and HTTP close ->
// batchers -> runners.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/dispatcher.h"
#include "server/api/drain_gate.h"
#include "server/api/grpc_server.h"
#include "server/common/allocator.h"
#include "server/common/log.h"
#include "server/common/signal_watcher.h"
#include "server/common/status_macros.h"
#include "server/config/flags.h"
#include "server/http/http_server.h"
#include "server/metrics/metrics_server.h"
#include "server/repository/model_loader.h"
#include "server/repository/model_repository.h"
#include "server/runtime/device_memory.h"

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

int Fail(const absl::Status& status) {
  Log("ERROR", std::string(status.message()), {{"code", absl::StatusCodeToString(status.code())}});
  return 1;
}

// SIGTERM/SIGINT while serving: NOT_SERVING at once, new calls refused, every
// admitted call finishes within the drain timeout (or until a second
// signal), then the listener closes.
void Drain(int signal_number, const config::ServerOptions& options, const SignalWatcher& signals,
           api::DrainGate& gate, std::atomic<bool>& serving, api::GrpcServer& grpc_server,
           http::HttpServer* http_server, repository::ModelRepository& models) {
  Log("INFO", "draining", {{"signal", absl::StrCat(signal_number)},
                           {"in_flight", absl::StrCat(gate.in_flight())},
                           {"drain_timeout_s", absl::StrCat(options.drain_timeout_s)}});
  gate.BeginDrain();
  serving.store(false);
  grpc_server.SetServing(false);
  models.StopWorker();
  models.Flush();
  const absl::Time deadline = absl::Now() + absl::Seconds(options.drain_timeout_s);
  if (gate.WaitIdle(deadline, &signals.second())) {
    Log("INFO", "drained");
  } else {
    const bool interrupted = signals.second().load();
    const std::string why = interrupted ? "is shutting down: a second signal ended the drain"
                                        : "is shutting down: the drain timed out";
    Log("WARN", "drain cut short", {{"reason", interrupted ? "second signal" : "timeout"},
                                    {"in_flight", absl::StrCat(gate.in_flight())}});
    // What is left: queued requests and the running batch complete with UNAVAILABLE.
    models.Abort(why);
  }
  // Open streams with nothing admitted are cancelled after a short grace.
  grpc_server.Shutdown(std::chrono::seconds(1));
  if (http_server != nullptr) http_server->Stop();
}

// --calibrate_only: load and calibrate every model of the repository (no
// warm-up, no serving), leaving the cache for later starts.
int CalibrateOnly(const config::ServerOptions& options) {
  const absl::StatusOr<int> calibrated = repository::CalibrateRepository(options, Log);
  if (!calibrated.ok()) return Fail(calibrated.status());
  Log("INFO", "calibration done", {{"models", absl::StrCat(*calibrated)}});
  return 0;
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
  SetLogFormat(options.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  Log("INFO", "starting lion-serve", {{"version", LION_VERSION}, {"repository", options.model_repository},
                                      {"allocator", std::string(AllocatorName())}});
  if (options.form.calibrate_only) return CalibrateOnly(options);

  metrics::Metrics metrics({LION_VERSION, LION_GIT_SHA, LION_TORCH_VERSION});
  std::unique_ptr<api::ApiKeys> keys;
  if (!options.api_key_file.empty()) {
    auto loaded = api::ApiKeys::Load(options.api_key_file);
    if (!loaded.ok()) return Fail(loaded.status());
    keys = *std::move(loaded);
  }
  // Serve metrics and health (NOT_SERVING) while the models load.
  repository::ModelRegistry registry;
  api::DrainGate gate;
  std::atomic<bool> serving{false};
  auto models = repository::ModelRepository::Create(options, &metrics, &registry, Log);
  if (!models.ok()) return Fail(models.status());
  api::ServiceContext context{&registry, keys.get(), &metrics, Clock::Real(), &gate};
  context.wire.max_text_bytes = options.max_text_bytes;
  context.max_message_bytes = options.max_message_bytes;
  context.max_stream_in_flight = options.max_stream_in_flight;
  context.preprocess_threads = static_cast<int>(std::max<int64_t>(1, options.threads / 2));
  context.serving = &serving;
  context.repository = models->get();
  context.version = LION_VERSION;
  auto dispatcher = api::Dispatcher::Create(context);
  if (!dispatcher.ok()) return Fail(dispatcher.status());
  auto metrics_server = metrics::MetricsServer::Create(
      options.metrics_address, &metrics,
      [&metrics, device = options.device] { runtime::RecordMemory(&metrics, device); });
  if (!metrics_server.ok()) return Fail(metrics_server.status());
  auto grpc_server = api::GrpcServer::Create(options, dispatcher->get());
  if (!grpc_server.ok()) return Fail(grpc_server.status());
  std::unique_ptr<http::HttpServer> http_server;
  if (!options.http_address.empty()) {
    auto created = http::HttpServer::Create(options, dispatcher->get());
    if (!created.ok()) return Fail(created.status());
    http_server = *std::move(created);
  }
  const std::string http_port = http_server != nullptr ? absl::StrCat(http_server->port()) : "off";
  Log("INFO", "listening", {{"grpc_port", absl::StrCat((*grpc_server)->port())},
                            {"http_port", http_port},
                            {"metrics_port", absl::StrCat((*metrics_server)->port())}});

  if (absl::Status loaded = (*models)->LoadAll(); !loaded.ok()) return Fail(loaded);
  signals->Serve();  // from here on a signal drains instead of exiting
  (*models)->Start();
  serving.store(true);
  (*grpc_server)->SetServing(true);
  Log("INFO", "serving", {{"grpc_port", absl::StrCat((*grpc_server)->port())},
                          {"http_port", http_port},
                          {"metrics_port", absl::StrCat((*metrics_server)->port())},
                          {"models", absl::StrCat(registry.models().size())},
                          {"model_control", options.model_control}});

  Drain(signals->WaitFirst(), options, *signals, gate, serving, **grpc_server, http_server.get(),
        **models);
  (*models)->StopModels();
  grpc_server->reset();
  http_server.reset();
  metrics_server->reset();
  Log("INFO", "stopped");
  return 0;
}

}  // namespace
}  // namespace lion

int main(int argc, char** argv) { return lion::Run(argc, argv); }
