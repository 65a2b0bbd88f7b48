// Where a model's form limits come from: flags that pin every limit, else the
// calibration cache, else a calibration (the attention core timed on the
// model's own shape, attention_timer.h), written to the cache for the next
// start and for other models with the same key (calibration_cache.h).
// Model assembly (repository/model_loader.cc) calls CalibrateModel once per
// model, on a short-lived thread (LibTorch work); the log and metric lines
// come from the outcome.
#ifndef LION_SERVER_RUNTIME_CALIBRATION_H_
#define LION_SERVER_RUNTIME_CALIBRATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/config/server_options.h"
#include "server/runtime/calibration_cache.h"
#include "server/runtime/form_policy.h"
#include "server/runtime/form_timer.h"
#include "server/runtime/model.h"
#include "server/runtime/timing_table.h"

namespace lion::runtime {

enum class CalibrationSource { kPinned, kCached, kComputed };
const char* CalibrationSourceName(CalibrationSource source);  // "pinned", "cached", "computed"

// How one model's limits were obtained. Copyable.
struct CalibrationOutcome {
  Calibration calibration;
  CalibrationSource source = CalibrationSource::kComputed;
  std::string cache_path;             // "" without a cache folder or when pinned
  std::vector<std::string> warnings;  // cache unreadable, unwritable or absent: for the log
  TimingTable table;                  // what was timed (kComputed only)
};

// What one calibration depends on besides the model. Copyable.
struct CalibrationSetup {
  int64_t max_length = 0;        // the longest text input served
  config::FormOptions form;      // pins, budget, --calibrate; calibration_dir "" = no cache
  CalibrationContext context;    // device kind, software, threads
  Clock* clock = Clock::Real();  // for the climb's time budget; borrowed
};

using FormTimerFactory = std::function<absl::StatusOr<std::unique_ptr<FormTimer>>()>;

// Pinned, cached or computed limits. The timer is made only when a calibration
// runs. Cache trouble is a warning (the limits are computed instead); errors
// are the timer's.
absl::StatusOr<CalibrationOutcome> ObtainCalibration(const ModelDescription& description,
                                                     const CalibrationSetup& setup,
                                                     const FormTimerFactory& make_timer);

// ObtainCalibration with the attention timer on the model's device, the
// device's identity, this build's versions (SoftwareVersions()), and
// --calibration_dir or else DefaultCalibrationDir(). Runs LibTorch work on the
// calling thread: never call it on main.
absl::StatusOr<CalibrationOutcome> CalibrateModel(const ModelDescription& description,
                                                  const config::ServerOptions& options,
                                                  int64_t max_length);

// "lion-serve <version>, LibTorch <version>": the build, in cache keys.
std::string SoftwareVersions();

// Flags pin (non-zero values), the calibration fills the rest.
FormLimits ResolveLimits(const config::FormOptions& flags, const Calibration& calibration);

}  // namespace lion::runtime

#endif  // LION_SERVER_RUNTIME_CALIBRATION_H_
