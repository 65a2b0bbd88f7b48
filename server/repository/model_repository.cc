#include "server/repository/model_repository.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/quoted.h"

namespace lion::repository {
namespace {

// How often a worker with retired models looks whether they drained.
constexpr absl::Duration kReapInterval = absl::Milliseconds(50);

}  // namespace

absl::StatusOr<ModelControl> ParseModelControl(const std::string& name) {
  if (name == "none") return ModelControl::kNone;
  if (name == "poll") return ModelControl::kPoll;
  if (name == "explicit") return ModelControl::kExplicit;
  return absl::InvalidArgumentError(
      absl::StrCat("--model_control: expected none, poll or explicit, got ", Quoted(name)));
}

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Create(
    const config::ServerOptions& options, metrics::Metrics* metrics, ModelRegistry* registry,
    LogFn log) {
  absl::StatusOr<ModelControl> control = ParseModelControl(options.model_control);
  if (!control.ok()) return control.status();
  return std::unique_ptr<ModelRepository>(
      new ModelRepository(options, *control, metrics, registry, std::move(log)));
}

ModelRepository::ModelRepository(const config::ServerOptions& options, ModelControl control,
                                 metrics::Metrics* metrics, ModelRegistry* registry, LogFn log)
    : options_(options),
      control_(control),
      metrics_(metrics),
      registry_(registry),
      log_(std::move(log)) {}

ModelRepository::~ModelRepository() {
  StopWorker();
  StopModels();
}

absl::Status ModelRepository::LoadAll() {
  const std::vector<ModelDirectory> dirs = ScanRepository(options_.model_repository);
  if (dirs.empty() && control_ == ModelControl::kNone) {
    return absl::NotFoundError(
        absl::StrCat("no model directories (with config.json) in ", options_.model_repository));
  }
  for (const ModelDirectory& dir : dirs) registry_->SetState(dir.name, ModelState::kLoading, "");
  for (const ModelDirectory& dir : dirs) {
    absl::Status loaded = LoadDirectory(dir);
    if (!loaded.ok() && control_ == ModelControl::kNone) return loaded;
  }
  registry_->MarkPublished();
  return absl::OkStatus();
}

absl::Status ModelRepository::LoadDirectory(const ModelDirectory& dir) {
  known_[dir.name] = {dir.fingerprint, ""};
  absl::StatusOr<std::unique_ptr<ServedModel>> model =
      StartModel(dir.path, options_, metrics_, log_);
  if (!model.ok()) {
    const std::string reason =
        absl::StrCat("failed to load ", dir.path, ": ", model.status().message());
    log_("WARN", "model not loaded", {{"model", dir.name}, {"error", reason}});
    registry_->SetState(dir.name, ModelState::kUnavailable, reason);
    return absl::Status(model.status().code(), reason);
  }
  ModelRef replaced = registry_->Put(ModelRef(*std::move(model)));
  log_("INFO", replaced != nullptr ? "model reloaded" : "model ready", {{"model", dir.name}});
  if (replaced != nullptr) Retire(std::move(replaced));
  return absl::OkStatus();
}

void ModelRepository::UnloadModel(const std::string& name) {
  known_.erase(name);
  ModelRef model = registry_->Remove(name);
  if (model == nullptr) return;
  log_("INFO", "model unloaded", {{"model", name}});
  metrics_->RemoveModel(MetricLabels(model->description));
  Retire(std::move(model));
}

void ModelRepository::Poll() {
  std::map<std::string, bool> present;
  for (const ModelDirectory& dir : ScanRepository(options_.model_repository)) {
    present[dir.name] = true;
    auto it = known_.find(dir.name);
    if (it != known_.end() && it->second.fingerprint == dir.fingerprint) {
      it->second.pending.clear();
      continue;
    }
    Known& known = known_[dir.name];
    if (known.pending != dir.fingerprint) {  // first sight of this change: wait one scan
      known.pending = dir.fingerprint;
      if (it == known_.end()) registry_->SetState(dir.name, ModelState::kLoading, "");
      continue;
    }
    (void)LoadDirectory(dir);
  }
  std::vector<std::string> gone;
  for (const auto& [name, known] : known_) {
    if (present.count(name) == 0) gone.push_back(name);
  }
  for (const std::string& name : gone) UnloadModel(name);
}

void ModelRepository::Retire(ModelRef model) {
  model->batcher->Flush();
  absl::MutexLock lock(&mu_);
  retiring_.push_back(std::move(model));
}

void ModelRepository::Reap() {
  std::vector<ModelRef> drained;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = retiring_.begin(); it != retiring_.end();) {
      // Only this list holds it: no request can reach it any more (the
      // registry and every snapshot of a lookup let go of it).
      if (it->use_count() == 1) {
        drained.push_back(std::move(*it));
        it = retiring_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const ModelRef& model : drained) {
    log_("INFO", "model drained", {{"model", model->description.name}});
  }
  drained.clear();  // stops the threads, here on the worker
}

void ModelRepository::Start() {
  if (control_ == ModelControl::kNone) return;
  worker_ = std::thread([this] { Loop(); });
}

void ModelRepository::Loop() {
  const absl::Duration poll = absl::Seconds(std::max<int64_t>(1, options_.repository_poll_s));
  absl::Time next_poll = absl::Now() + poll;
  while (true) {
    std::deque<std::pair<Command, std::function<void(absl::Status)>>> commands;
    {
      absl::MutexLock lock(&mu_);
      absl::Time wake = control_ == ModelControl::kPoll ? next_poll : absl::InfiniteFuture();
      if (!retiring_.empty()) wake = std::min(wake, absl::Now() + kReapInterval);
      while (!stopping_ && commands_.empty() && absl::Now() < wake) {
        cv_.WaitWithDeadline(&mu_, wake);
      }
      if (stopping_) break;
      commands.swap(commands_);
    }
    for (auto& [command, done] : commands) done(command());
    if (control_ == ModelControl::kPoll && absl::Now() >= next_poll) {
      Poll();
      next_poll = absl::Now() + poll;
    }
    Reap();
  }
}

absl::Status ModelRepository::CheckExplicit() const {
  if (control_ == ModelControl::kExplicit) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "loading and unloading models on request needs --model_control=explicit");
}

void ModelRepository::Post(Command command, std::function<void(absl::Status)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_ && worker_.joinable()) {
      commands_.emplace_back(std::move(command), std::move(done));
      cv_.Signal();
      return;
    }
  }
  done(absl::UnavailableError("lion-serve is shutting down"));
}

void ModelRepository::Load(const std::string& name, std::function<void(absl::Status)> done) {
  if (absl::Status s = CheckExplicit(); !s.ok()) return done(s);
  if (name.empty() || name.size() > 255 || name[0] == '.' || name.find('/') != std::string::npos) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "model name ", Quoted(name), ": expected the name of a folder of --model_repository")));
  }
  Post(
      [this, name]() -> absl::Status {
        const std::string path = (std::filesystem::path(options_.model_repository) / name).string();
        std::error_code ec;
        if (!std::filesystem::exists(std::filesystem::path(path) / "config.json", ec)) {
          return absl::NotFoundError(absl::StrCat("no model directory ", Quoted(name),
                                                  " (with config.json) in ",
                                                  options_.model_repository));
        }
        return LoadDirectory({name, path, Fingerprint(path)});
      },
      std::move(done));
}

void ModelRepository::Unload(const std::string& name, std::function<void(absl::Status)> done) {
  if (absl::Status s = CheckExplicit(); !s.ok()) return done(s);
  Post(
      [this, name]() -> absl::Status {
        bool known = false;
        for (const ModelStatus& status : registry_->Index()) known = known || status.name == name;
        if (!known) {
          return absl::NotFoundError(absl::StrCat("model ", Quoted(name), " is not loaded"));
        }
        UnloadModel(name);
        registry_->Remove(name);  // also forgets a directory that failed to load
        return absl::OkStatus();
      },
      std::move(done));
}

void ModelRepository::StopWorker() {
  std::deque<std::pair<Command, std::function<void(absl::Status)>>> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.Signal();
  }
  if (worker_.joinable()) worker_.join();
  {
    absl::MutexLock lock(&mu_);
    left.swap(commands_);
  }
  for (auto& [command, done] : left) done(absl::UnavailableError("lion-serve is shutting down"));
}

std::vector<ModelRef> ModelRepository::AllModels() const {
  std::vector<ModelRef> all = registry_->models();
  absl::MutexLock lock(&mu_);
  all.insert(all.end(), retiring_.begin(), retiring_.end());
  return all;
}

void ModelRepository::Flush() {
  for (const ModelRef& m : AllModels()) m->batcher->Flush();
}

void ModelRepository::Abort(const std::string& reason) {
  const std::vector<ModelRef> all = AllModels();
  for (const ModelRef& m : all) m->batcher->Stop(reason);
  for (const ModelRef& m : all) {
    if (m->threads != nullptr) m->threads->runner->Abort(reason);
  }
}

void ModelRepository::StopModels() {
  const std::vector<ModelRef> all = AllModels();
  for (const ModelRef& m : all) m->batcher->Stop();
  for (const ModelRef& m : all) {
    if (m->threads != nullptr) m->threads->runner->Stop();
  }
}

}  // namespace lion::repository
