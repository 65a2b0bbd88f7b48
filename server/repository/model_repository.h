// ModelRepository: keeps the registry in step with the model repository
// folder, as Triton's --model-control-mode does:
//  - none: every model directory is loaded at start-up; a failure stops the
//    start-up (LoadAll returns it);
//  - poll: also rescans the folder every --repository_poll_s: a new
//    directory is loaded, a changed one (config.json, model.safetensors or
//    vocab.txt) reloaded, a removed one unloaded. A change is acted on once
//    two scans in a row see the same files, so a copy in progress is not
//    loaded half-written;
//  - explicit: Load(name) and Unload(name) on request.
// A directory that fails to load is UNAVAILABLE with its reason (the model
// it replaces, if any, keeps serving) and never takes the server down.
//
// A reload builds, warms up and calibrates the new version beside the old
// one, then swaps it in: requests already admitted finish on the old
// version, new ones go to the new one, none is refused. A replaced or
// unloaded model is drained: its threads stop only once no request holds it.
//
// Loads, polls and drains run on one worker thread (Start()); LibTorch work
// runs on short-lived threads from there (model_loader.h). Thread-safe. Not
// copyable. The registry and metrics must outlive it.
#ifndef LION_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
#define LION_SERVER_REPOSITORY_MODEL_REPOSITORY_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/config/server_options.h"
#include "server/metrics/metrics.h"
#include "server/repository/model_loader.h"
#include "server/repository/model_registry.h"
#include "server/repository/repository_scan.h"

namespace lion::repository {

enum class ModelControl { kNone, kPoll, kExplicit };

// "none", "poll", "explicit"; INVALID_ARGUMENT otherwise.
absl::StatusOr<ModelControl> ParseModelControl(const std::string& name);

class ModelRepository {
 public:
  // Errors: INVALID_ARGUMENT for a bad --model_control.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Create(
      const config::ServerOptions& options, metrics::Metrics* metrics, ModelRegistry* registry,
      LogFn log);
  // Stops the worker, then every model's threads.
  ~ModelRepository();
  ModelRepository(const ModelRepository&) = delete;
  ModelRepository& operator=(const ModelRepository&) = delete;

  // Start-up: loads every model directory on the calling thread, then marks
  // the registry published. Mode none: returns the first failure (and
  // NOT_FOUND for a folder without models); poll and explicit: failures are
  // recorded and OK is returned, even with no model.
  absl::Status LoadAll();

  // Starts the worker (polling in mode poll; Load/Unload in mode explicit).
  void Start();

  // Mode explicit only (else FAILED_PRECONDITION): loads, or reloads, the
  // directory `name` of the repository on the worker, then calls `done` with
  // OK once it serves or with the reason it failed (NOT_FOUND without such a
  // directory, INVALID_ARGUMENT for a name that is not a plain folder name).
  // `done` may run on the calling thread or the worker.
  void Load(const std::string& name, std::function<void(absl::Status)> done);
  // Mode explicit only: stops serving `name` at once (NOT_FOUND from then
  // on) and calls `done`; the model drains in the background.
  void Unload(const std::string& name, std::function<void(absl::Status)> done);

  // Shutdown, in this order (main's drain): StopWorker (a load in progress
  // finishes first; pending Load/Unload calls get UNAVAILABLE), Flush (every
  // batcher sends what it holds without waiting for batches to fill),
  // optionally Abort (queued and running work completes UNAVAILABLE with
  // `reason`), StopModels (batchers, then runners). Each is idempotent.
  void StopWorker();
  void Flush();
  void Abort(const std::string& reason);
  void StopModels();

  ModelControl control() const { return control_; }

 private:
  struct Known {
    std::string fingerprint;  // of the files last loaded (or tried)
    std::string pending;      // a change seen once, loaded if the next scan agrees
  };
  using Command = std::function<absl::Status()>;

  ModelRepository(const config::ServerOptions& options, ModelControl control,
                  metrics::Metrics* metrics, ModelRegistry* registry, LogFn log);
  void Loop();
  void Poll();
  // Loads `dir` and swaps it in; the status says why it failed.
  absl::Status LoadDirectory(const ModelDirectory& dir);
  void UnloadModel(const std::string& name);
  // Drains `model` in the background: its threads stop once nothing holds it.
  void Retire(ModelRef model);
  // Destroys the retired models that no request holds any more.
  void Reap();
  // Every model whose threads run: served and retiring.
  std::vector<ModelRef> AllModels() const;
  void Post(Command command, std::function<void(absl::Status)> done);
  absl::Status CheckExplicit() const;

  const config::ServerOptions options_;
  const ModelControl control_;
  metrics::Metrics* const metrics_;
  ModelRegistry* const registry_;
  const LogFn log_;

  std::map<std::string, Known> known_;  // touched only by the worker (or LoadAll before it)

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::pair<Command, std::function<void(absl::Status)>>> commands_ ABSL_GUARDED_BY(mu_);
  std::vector<ModelRef> retiring_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace lion::repository

#endif  // LION_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
