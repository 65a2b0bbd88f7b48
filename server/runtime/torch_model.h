// The LibTorch implementation of runtime::Model: a model::LionModel loaded
// from a model directory, with batching (padding, grouping images by size)
// and output extraction. One of the runtime's few LibTorch files (with
// host_outputs.{h,cc}, attention_timer.cc and device_memory.cc); model.h and
// everything that uses it see no LibTorch.
#ifndef LION_SERVER_RUNTIME_TORCH_MODEL_H_
#define LION_SERVER_RUNTIME_TORCH_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/runtime/model.h"

namespace lion::runtime {

struct TorchModelOptions {
  std::string name;               // served name; empty = the directory's base name
  std::string device = "cpu";     // cpu | cuda | cuda:N (device.h)
  std::string dtype = "float32";  // float32 | bfloat16 | float16 (16-bit: GPU only)
  // LibTorch intra-op threads (process-wide: the last load sets it); 0 keeps
  // LibTorch's default. --threads, with 0 meaning every core, arrives here.
  int threads = 0;
};

// Loads config.json + model.safetensors from `model_dir` onto the device.
// Errors name the file: NOT_FOUND, INVALID_ARGUMENT (bad config, weights,
// device or dtype string), FAILED_PRECONDITION for a device this build or
// machine cannot use (checked before any weights load: a CPU-only build
// fails here, at startup, for --device=cuda). On a GPU, Forward stages inputs
// in pinned host memory, copies them without blocking and brings each batch's
// outputs back with one copy (host_outputs.h).
absl::StatusOr<std::unique_ptr<Model>> LoadTorchModel(const std::string& model_dir,
                                                      const TorchModelOptions& options);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_TORCH_MODEL_H_
