// Start-up work on a freshly loaded model, run by main before the runner owns
// it: warm-up (every form once, checking they agree) and the calibration that
// times the forms to set the form policy's limits, cached as JSON.
// Thread-compatible: the caller must be the model's only user meanwhile.
#ifndef LION_SERVER_RUNTIME_CALIBRATION_H_
#define LION_SERVER_RUNTIME_CALIBRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/server_options.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/model.h"

namespace lion::runtime {

// What a calibration found for one model on one device. Copyable.
struct Calibration {
  std::string model;
  std::string device;
  int64_t threads = 0;
  int64_t full_max_tokens = 0;
  int64_t chunk_size = 0;
  int64_t rnn_min_tokens = 0;  // 0: the RNN form never won on time
  // The limits above are for batches of several requests; these for one alone.
  FormThresholds single;
};

// A valid input of `length` tokens for the model (text: in-vocabulary ids;
// vision: a zero image of the model's size, whose length is fixed).
SequenceInput SampleInput(const ModelDescription& description, int64_t length);

// The outputs a warm-up or calibration asks for (every head the task has).
OutputRequest SampleOutputs(const ModelDescription& description);

// Runs a short input in every form; INTERNAL (naming the model and forms) if
// their outputs differ by more than float32 rounding allows.
absl::Status WarmUp(Model& model, int64_t chunk_size);

// Times the forms on lengths up to `max_length` and derives the limits.
absl::StatusOr<Calibration> Calibrate(Model& model, int64_t max_length, int64_t threads);

// JSON cache. Load: NOT_FOUND when absent, INVALID_ARGUMENT when malformed.
absl::StatusOr<Calibration> LoadCalibration(const std::string& path);
absl::Status SaveCalibration(const std::string& path, const Calibration& calibration);

// The cache file for a model: <calibration_dir>/<model>.calibration.json, or
// <model_dir>/calibration.json when calibration_dir is empty.
std::string CalibrationPath(const config::FormOptions& options,
                            const ModelDescription& description);

// Flags pin (non-zero values), the calibration fills the rest.
FormLimits ResolveLimits(const config::FormOptions& flags, const Calibration& calibration);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_CALIBRATION_H_
