// ModelRegistry: the models every front resolves a request's `model` against,
// and the state of each model directory (loading, ready, unavailable with the
// reason). Models are swapped in and out while requests run: Find hands out
// a shared_ptr, so a request keeps the model it resolved (and that model's
// threads) until it is answered, whatever replaces it meanwhile.
// Thread-safe; not copyable.
#ifndef LION_SERVER_REPOSITORY_MODEL_REGISTRY_H_
#define LION_SERVER_REPOSITORY_MODEL_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/repository/served_model.h"

namespace lion::repository {

using ModelRef = std::shared_ptr<const ServedModel>;

// Triton's names for the states of a model (RepositoryIndex).
enum class ModelState { kLoading, kReady, kUnavailable };
const char* ModelStateName(ModelState state);  // "LOADING", "READY", "UNAVAILABLE"

struct ModelStatus {
  std::string name;
  ModelState state = ModelState::kLoading;
  // Why it is unavailable, or why its last reload failed while the previous
  // version keeps serving; empty otherwise.
  std::string reason;
  ModelRef model;  // null unless a version is being served
};

class ModelRegistry {
 public:
  ModelRegistry() = default;
  // Published at once with `models` (tests).
  explicit ModelRegistry(std::vector<std::unique_ptr<ServedModel>> models);
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Until then Find answers UNAVAILABLE ("still loading"). Idempotent.
  void MarkPublished();
  // Adds every model and marks the registry published.
  void Publish(std::vector<std::unique_ptr<ServedModel>> models);

  // Serves `model` under its name from now on (READY, reason cleared);
  // returns the version it replaced, or null.
  ModelRef Put(ModelRef model);
  // The model of that name is no longer served (NOT_FOUND from now on);
  // returns it, or null.
  ModelRef Remove(const std::string& name);
  // Records a state without changing the model served under the name (if
  // any): LOADING for a first load, UNAVAILABLE with the reason for a
  // directory that failed to load, READY with a reason for a failed reload.
  void SetState(const std::string& name, ModelState state, const std::string& reason);

  // "" resolves to the first served model by name. Errors: UNAVAILABLE before
  // MarkPublished(), or for a model that is loading or failed to load (with
  // the reason); NOT_FOUND naming the model and listing the served ones.
  absl::StatusOr<ModelRef> Find(const std::string& name) const;
  // The served models, sorted by name.
  std::vector<ModelRef> models() const;
  // Every known name with its state, sorted by name.
  std::vector<ModelStatus> Index() const;
  bool published() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, ModelStatus> entries_ ABSL_GUARDED_BY(mu_);
  bool published_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace lion::repository

#endif  // LION_SERVER_REPOSITORY_MODEL_REGISTRY_H_
