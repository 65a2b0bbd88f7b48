#include "server/model/model_kind.h"

#include <utility>

#include "absl/strings/str_join.h"

namespace lion::model {
namespace {

constexpr std::pair<Architecture, const char*> kArchitectures[] = {
    {Architecture::kBert, "lion_bert"},
    {Architecture::kVit, "lion_vit"},
};

constexpr std::pair<Task, const char*> kTasks[] = {
    {Task::kMlm, "mlm"},
    {Task::kClassification, "classification"},
};

template <typename E, size_t N>
const char* NameOf(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> Parse(const std::pair<E, const char*> (&table)[N], std::string_view name) {
  for (const auto& [e, n] : table) {
    if (name == n) return e;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string Names(const std::pair<E, const char*> (&table)[N]) {
  return absl::StrJoin(table, ", ", [](std::string* out, const std::pair<E, const char*>& p) {
    out->append(p.second);
  });
}

}  // namespace

const char* ArchitectureName(Architecture architecture) {
  return NameOf(kArchitectures, architecture);
}
const char* TaskName(Task task) { return NameOf(kTasks, task); }

std::optional<Architecture> ParseArchitecture(std::string_view name) {
  return Parse(kArchitectures, name);
}
std::optional<Task> ParseTask(std::string_view name) { return Parse(kTasks, name); }

std::string ArchitectureNames() { return Names(kArchitectures); }
std::string TaskNames() { return Names(kTasks); }

}  // namespace lion::model
