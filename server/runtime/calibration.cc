#include "server/runtime/calibration.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/allocator.h"
#include "server/common/status_macros.h"
#include "server/config/flags.h"
#include "server/runtime/attention_timer.h"
#include "server/runtime/calibration_ladder.h"
#include "server/runtime/device_identity.h"

// Set by CMake; the fallbacks keep other build systems compiling.
#ifndef LION_RUNTIME_VERSION
#define LION_RUNTIME_VERSION "unknown"
#endif
#ifndef LION_RUNTIME_TORCH_VERSION
#define LION_RUNTIME_TORCH_VERSION "unknown"
#endif

namespace lion::runtime {

const char* CalibrationSourceName(CalibrationSource source) {
  switch (source) {
    case CalibrationSource::kPinned:
      return "pinned";
    case CalibrationSource::kCached:
      return "cached";
    case CalibrationSource::kComputed:
      return "computed";
  }
  return "unknown";
}

absl::StatusOr<CalibrationOutcome> ObtainCalibration(const ModelDescription& d,
                                                     const CalibrationSetup& setup,
                                                     const FormTimerFactory& make_timer) {
  const config::FormOptions& form = setup.form;
  CalibrationOutcome outcome;
  if (form.full_max_tokens > 0 && form.chunk_size > 0 && form.rnn_min_tokens > 0) {
    outcome.source = CalibrationSource::kPinned;  // ResolveLimits takes every limit from flags
    return outcome;
  }
  const CalibrationPlan plan = PlanFor(d, setup.max_length, form);
  const CalibrationKey key = KeyFor(d, plan, setup.context);
  if (!form.calibration_dir.empty()) outcome.cache_path = CachePath(form.calibration_dir, key);
  if (!outcome.cache_path.empty() && !form.calibrate) {
    absl::StatusOr<Calibration> cached = LoadCached(outcome.cache_path, key);
    if (cached.ok()) {
      outcome.calibration = *cached;
      outcome.source = CalibrationSource::kCached;
      return outcome;
    }
    if (!absl::IsNotFound(cached.status())) {
      outcome.warnings.push_back(
          absl::StrCat("calibration cache ignored: ", cached.status().message()));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<FormTimer> timer, make_timer());
  ASSIGN_OR_RETURN(outcome.table, MeasureTable(*timer, plan, setup.clock));
  outcome.calibration = DeriveCalibration(outcome.table);
  outcome.source = CalibrationSource::kComputed;
  if (outcome.cache_path.empty()) {
    outcome.warnings.push_back(
        "calibration not cached: no cache folder (set --calibration_dir, HOME or XDG_CACHE_HOME)");
  } else if (absl::Status s =
                 SaveCached(outcome.cache_path, key, outcome.calibration, outcome.table, d.name);
             !s.ok()) {
    outcome.warnings.push_back(absl::StrCat("calibration not cached: ", s.message()));
  }
  return outcome;
}

std::string SoftwareVersions() {
  return absl::StrCat("lion-serve ", LION_RUNTIME_VERSION, ", LibTorch ",
                      LION_RUNTIME_TORCH_VERSION);
}

absl::StatusOr<CalibrationOutcome> CalibrateModel(const ModelDescription& d,
                                                  const config::ServerOptions& options,
                                                  int64_t max_length) {
  CalibrationSetup setup;
  setup.max_length = max_length;
  setup.form = options.form;
  if (setup.form.calibration_dir.empty()) {
    setup.form.calibration_dir = DefaultCalibrationDir(config::ProcessEnv());
  }
  setup.context = CalibrationContext{DeviceIdentity(d.device), SoftwareVersions(), options.threads};
  const AttentionTimerOptions timer_options = AttentionTimerOptionsFor(d, options.threads);
  absl::StatusOr<CalibrationOutcome> outcome =
      ObtainCalibration(d, setup, [&]() -> absl::StatusOr<std::unique_ptr<FormTimer>> {
        ASSIGN_OR_RETURN(std::unique_ptr<AttentionTimer> timer,
                         AttentionTimer::Create(timer_options));
        return std::unique_ptr<FormTimer>(std::move(timer));
      });
  // The timer's inputs at the longest lengths (hundreds of MB for wide text
  // models) are freed by now; do not let the allocator keep them resident.
  if (outcome.ok() && outcome->source == CalibrationSource::kComputed) ReleaseFreeMemory();
  return outcome;
}

FormLimits ResolveLimits(const config::FormOptions& flags, const Calibration& c) {
  FormLimits limits;
  limits.full_max_tokens = flags.full_max_tokens > 0 ? flags.full_max_tokens : c.full_max_tokens;
  limits.chunk_size = flags.chunk_size > 0 ? flags.chunk_size : std::max<int64_t>(1, c.chunk_size);
  limits.rnn_min_tokens = flags.rnn_min_tokens > 0 ? flags.rnn_min_tokens : c.rnn_min_tokens;
  // Flags pin both batch regimes.
  limits.single =
      FormThresholds{flags.full_max_tokens > 0 ? flags.full_max_tokens : c.single.full_max_tokens,
                     flags.rnn_min_tokens > 0 ? flags.rnn_min_tokens : c.single.rnn_min_tokens};
  limits.memory_budget_bytes = flags.memory_budget_bytes;
  return limits;
}

}  // namespace lion::runtime
