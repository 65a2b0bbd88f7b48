// Model assembly: load a model directory, warm it up, calibrate its form
// policy (or take the cached calibration), load its tokenizer, register its
// metrics and start its runner and batcher; one log line per model with the
// time each phase took (runtime/calibration.h has where limits come from). LibTorch work runs on
// short-lived threads (OffMainThread), never on a thread that stays alive.
// Thread-compatible: one load at a time (LibTorch's thread count is
// process-wide).
#ifndef LION_SERVER_REPOSITORY_MODEL_LOADER_H_
#define LION_SERVER_REPOSITORY_MODEL_LOADER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/common/log.h"
#include "server/config/server_options.h"
#include "server/metrics/metrics.h"
#include "server/repository/served_model.h"

namespace lion::repository {

// One log line: level ("INFO", "WARN", "ERROR"), message and fields
// (lion::Log in the server).
using LogFn = ::lion::LogFn;

// Load, warm up, calibrate and start the threads of the model in `dir`,
// served under the directory's base name. Errors name the file or the step
// (see runtime::LoadTorchModel, runtime::WarmUp, LoadTokenizer).
absl::StatusOr<std::unique_ptr<ServedModel>> StartModel(const std::string& dir,
                                                        const config::ServerOptions& options,
                                                        metrics::Metrics* metrics,
                                                        const LogFn& log);

// --calibrate_only: load the model in `dir` and calibrate it (or find its
// calibration in the cache), without warming it up or starting threads. Logs
// "model calibrated" with the phase times. Errors: loading's or the timer's.
absl::Status CalibrateModelOnly(const std::string& dir, const config::ServerOptions& options,
                                const LogFn& log);

// --calibrate_only for the whole repository: CalibrateModelOnly for every
// model directory of options.model_repository, in name order. Returns how
// many were calibrated; NOT_FOUND when there is none, else the first error.
absl::StatusOr<int> CalibrateRepository(const config::ServerOptions& options, const LogFn& log);

}  // namespace lion::repository

#endif  // LION_SERVER_REPOSITORY_MODEL_LOADER_H_
