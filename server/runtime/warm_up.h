// The check every freshly loaded model passes before it serves: each form
// once on a short input, their outputs compared. Run by model assembly
// (server/repository) before the runner owns the model. Thread-compatible:
// the caller must be the model's only user.
#ifndef LION_SERVER_RUNTIME_WARM_UP_H_
#define LION_SERVER_RUNTIME_WARM_UP_H_

#include <cstdint>

#include "absl/status/status.h"
#include "server/runtime/model.h"

namespace lion::runtime {

// A valid input of `length` tokens for the model (text: in-vocabulary ids;
// vision: an image of the model's size, whose length is fixed).
SequenceInput SampleInput(const ModelDescription& description, int64_t length);

// The outputs a warm-up asks for (every head the task has).
OutputRequest SampleOutputs(const ModelDescription& description);

// Runs a short input in every form; INTERNAL (naming the model and forms) if
// their outputs differ by more than float32 rounding allows.
absl::Status WarmUp(Model& model, int64_t chunk_size);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_WARM_UP_H_
