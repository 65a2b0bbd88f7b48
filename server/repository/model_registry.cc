#include "server/repository/model_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/quoted.h"

namespace lion::repository {

const char* ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kLoading:
      return "LOADING";
    case ModelState::kReady:
      return "READY";
    case ModelState::kUnavailable:
      return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

ModelRegistry::ModelRegistry(std::vector<std::unique_ptr<ServedModel>> models) {
  Publish(std::move(models));
}

void ModelRegistry::MarkPublished() {
  absl::MutexLock lock(&mu_);
  published_ = true;
}

void ModelRegistry::Publish(std::vector<std::unique_ptr<ServedModel>> models) {
  for (auto& m : models) Put(ModelRef(std::move(m)));
  MarkPublished();
}

ModelRef ModelRegistry::Put(ModelRef model) {
  absl::MutexLock lock(&mu_);
  ModelStatus& entry = entries_[model->description.name];
  entry.name = model->description.name;
  entry.state = ModelState::kReady;
  entry.reason.clear();
  std::swap(entry.model, model);
  return model;
}

ModelRef ModelRegistry::Remove(const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return nullptr;
  ModelRef model = std::move(it->second.model);
  entries_.erase(it);
  return model;
}

void ModelRegistry::SetState(const std::string& name, ModelState state, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  ModelStatus& entry = entries_[name];
  entry.name = name;
  entry.state = entry.model != nullptr ? ModelState::kReady : state;
  entry.reason = reason;
}

absl::StatusOr<ModelRef> ModelRegistry::Find(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!published_) return absl::UnavailableError("lion-serve is still loading its models");
  if (name.empty()) {
    for (const auto& [entry_name, entry] : entries_) {
      if (entry.model != nullptr) return entry.model;
    }
  }
  if (auto it = entries_.find(name); it != entries_.end()) {
    const ModelStatus& entry = it->second;
    if (entry.model != nullptr) return entry.model;
    if (entry.state == ModelState::kLoading) {
      return absl::UnavailableError(absl::StrCat("model ", Quoted(name), " is loading"));
    }
    return absl::UnavailableError(
        absl::StrCat("model ", Quoted(name), " is not ready: ", entry.reason));
  }
  std::vector<std::string> names;
  for (const auto& [entry_name, entry] : entries_) {
    if (entry.model != nullptr) names.push_back(entry_name);
  }
  if (names.empty()) {
    return absl::NotFoundError(
        absl::StrCat("model ", Quoted(name), " is not served (no model is)"));
  }
  return absl::NotFoundError(absl::StrCat(
      "model ", Quoted(name), " is not served (models: ", absl::StrJoin(names, ", "), ")"));
}

std::vector<ModelRef> ModelRegistry::models() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ModelRef> out;
  for (const auto& [name, entry] : entries_) {
    if (entry.model != nullptr) out.push_back(entry.model);
  }
  return out;
}

std::vector<ModelStatus> ModelRegistry::Index() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ModelStatus> out;
  for (const auto& [name, entry] : entries_) out.push_back(entry);
  return out;
}

bool ModelRegistry::published() const {
  absl::ReaderMutexLock lock(&mu_);
  return published_;
}

}  // namespace lion::repository
