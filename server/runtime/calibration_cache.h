// The calibration cache: one JSON file per key, where the key holds everything
// the timings depend on (device kind, threads, software versions, the
// attention shape and variant, and the plan's lengths, pins and budget), not
// the model's name or depth. Models with equal keys share one file; a changed
// CPU, thread count or head shape misses it and calibrates anew. The folder is
// a per-user cache (not the model directory), so read-only model volumes work.
#ifndef LION_SERVER_RUNTIME_CALIBRATION_CACHE_H_
#define LION_SERVER_RUNTIME_CALIBRATION_CACHE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/config/flags.h"
#include "server/runtime/calibration_ladder.h"
#include "server/runtime/model.h"
#include "server/runtime/timing_table.h"

namespace lion::runtime {

// The parts of a key that come from the machine and the build. Copyable.
struct CalibrationContext {
  std::string device_identity;  // DeviceIdentity()
  std::string software;         // lion-serve and LibTorch versions
  int64_t threads = 0;
};

// Copyable; equal keys mean interchangeable calibrations.
struct CalibrationKey {
  std::string text;  // canonical JSON of every field
  // <16 hex digits of a hash of text>.json
  std::string FileName() const;
  bool operator==(const CalibrationKey& other) const { return text == other.text; }
};

CalibrationKey KeyFor(const ModelDescription& description, const CalibrationPlan& plan,
                      const CalibrationContext& context);

// $XDG_CACHE_HOME/lion-serve/calibration, else $HOME/.cache/lion-serve/calibration
// (relative XDG_CACHE_HOME is ignored, as the XDG spec says); "" when neither is set.
std::string DefaultCalibrationDir(const config::EnvLookup& env);

// <dir>/<key.FileName()>
std::string CachePath(const std::string& dir, const CalibrationKey& key);

// NOT_FOUND when absent; DATA_LOSS when unreadable (a folder in its place
// too) or malformed;
// FAILED_PRECONDITION when the file holds another key.
absl::StatusOr<Calibration> LoadCached(const std::string& path, const CalibrationKey& key);

// Writes atomically (a temporary file renamed over the path), creating the
// folder; `model` and the table are recorded for people reading the file.
// UNAVAILABLE when it cannot be written.
absl::Status SaveCached(const std::string& path, const CalibrationKey& key,
                        const Calibration& calibration, const TimingTable& table,
                        const std::string& model);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_CALIBRATION_CACHE_H_
