// What kind of model a directory holds: its architecture and task, as
// config.json names them (docs/model-format.md). These names are also the
// wire's (ModelInfo.architecture, ModelInfo.task) and the metrics' labels
// (lion_model_info{architecture, task}); this table is the only place that
// spells them.
#ifndef LION_SERVER_MODEL_MODEL_KIND_H_
#define LION_SERVER_MODEL_MODEL_KIND_H_

#include <optional>
#include <string>
#include <string_view>

namespace lion::model {

enum class Architecture { kBert, kVit };
enum class Task { kMlm, kClassification };

// "lion_bert", "lion_vit".
const char* ArchitectureName(Architecture architecture);
// "mlm", "classification".
const char* TaskName(Task task);

// The enum a name stands for; nullopt for any other string.
std::optional<Architecture> ParseArchitecture(std::string_view name);
std::optional<Task> ParseTask(std::string_view name);

// "lion_bert, lion_vit" and "mlm, classification": the names allowed, for
// error messages.
std::string ArchitectureNames();
std::string TaskNames();

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_MODEL_KIND_H_
