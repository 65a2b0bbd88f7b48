#include "server/runtime/calibration_cache.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "server/runtime/attention_timer.h"

namespace lion::runtime {
namespace {

using nlohmann::json;

// Bumped when the timing or the derivation rules change, so that files
// written under other rules miss.
constexpr int kProcedure = 2;

json RowsJson(const std::vector<FormTimes>& rows) {
  json out = json::array();
  for (const FormTimes& r : rows) {
    json row = {{"length", r.length}};
    for (size_t i = 0; i < r.seconds.size(); ++i) {
      const char* name = kernels::FormName(kCalibratedForms[i]);
      row[name] = r.seconds[i].has_value() ? json(*r.seconds[i]) : json(nullptr);
    }
    out.push_back(row);
  }
  return out;
}

json TableJson(const TimingTable& t) {
  json chunks = json::array();
  for (const ChunkTiming& c : t.chunk_sizes) {
    chunks.push_back({{"chunk_size", c.chunk_size}, {"seconds", c.seconds}});
  }
  return {{"unit", "seconds per sequence"},
          {"chunk_length", t.chunk_length},
          {"chunk_sizes", chunks},
          {"batched", RowsJson(t.batched)},
          {"single", RowsJson(t.single)}};
}

}  // namespace

std::string CalibrationKey::FileName() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x.json", h);
}

CalibrationKey KeyFor(const ModelDescription& d, const CalibrationPlan& plan,
                      const CalibrationContext& context) {
  const AttentionTimerOptions timer = AttentionTimerOptionsFor(d, context.threads);
  const json key = {{"procedure", kProcedure},
                    {"device", context.device_identity},
                    {"software", context.software},
                    {"threads", context.threads},
                    {"dtype", d.dtype},
                    {"heads", timer.heads},
                    {"head_dim", timer.head_dim},
                    {"orders", timer.orders},
                    {"variant", timer.variant},
                    {"normalize", timer.normalize},
                    {"padded", timer.padded},
                    {"lengths", plan.lengths},
                    {"open_ended", plan.open_ended},
                    {"chunk_candidates", plan.chunk_candidates},
                    {"chunk_length", plan.chunk_length},
                    {"pinned_chunk_size", plan.pinned_chunk_size},
                    {"memory_budget_bytes", plan.memory_budget_bytes}};
  return CalibrationKey{key.dump()};  // nlohmann::json objects keep sorted keys
}

std::string DefaultCalibrationDir(const config::EnvLookup& env) {
  const std::optional<std::string> xdg = env("XDG_CACHE_HOME");
  if (xdg.has_value() && !xdg->empty() && (*xdg)[0] == '/') {
    return absl::StrCat(*xdg, "/lion-serve/calibration");
  }
  const std::optional<std::string> home = env("HOME");
  if (home.has_value() && !home->empty()) {
    return absl::StrCat(*home, "/.cache/lion-serve/calibration");
  }
  return "";
}

std::string CachePath(const std::string& dir, const CalibrationKey& key) {
  return absl::StrCat(dir, "/", key.FileName());
}

absl::StatusOr<Calibration> LoadCached(const std::string& path, const CalibrationKey& key) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("no calibration at ", path));
  }
  // A folder (or a FIFO) in the file's place: libstdc++ throws from the
  // read instead of failing the stream, so it is refused before opening.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::DataLossError(absl::StrCat(path, ": not a regular file"));
  }
  std::ifstream in(path);
  if (!in) return absl::DataLossError(absl::StrCat(path, ": cannot be read"));
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": not a calibration JSON object"));
  }
  try {
    if (j.at("key").dump() != key.text) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": calibrated for another key"));
    }
    const json& c = j.at("calibration");
    Calibration out;
    out.full_max_tokens = c.at("full_max_tokens").get<int64_t>();
    out.chunk_size = c.at("chunk_size").get<int64_t>();
    out.rnn_min_tokens = c.at("rnn_min_tokens").get<int64_t>();
    out.single.full_max_tokens = c.at("single").at("full_max_tokens").get<int64_t>();
    out.single.rnn_min_tokens = c.at("single").at("rnn_min_tokens").get<int64_t>();
    if (out.chunk_size < 1 || out.full_max_tokens < 0 || out.rnn_min_tokens < 0 ||
        out.single.full_max_tokens < 0 || out.single.rnn_min_tokens < 0) {
      return absl::DataLossError(absl::StrCat(path, ": limits out of range"));
    }
    return out;
  } catch (const json::exception& e) {  // a malformed file: nlohmann::json, not LibTorch
    return absl::DataLossError(absl::StrCat(path, ": ", e.what()));
  }
}

absl::Status SaveCached(const std::string& path, const CalibrationKey& key, const Calibration& c,
                        const TimingTable& table, const std::string& model) {
  const json j = {{"key", json::parse(key.text)},
                  {"calibration",
                   {{"full_max_tokens", c.full_max_tokens},
                    {"chunk_size", c.chunk_size},
                    {"rnn_min_tokens", c.rnn_min_tokens},
                    {"single",
                     {{"full_max_tokens", c.single.full_max_tokens},
                      {"rnn_min_tokens", c.single.rnn_min_tokens}}}}},
                  {"computed_for_model", model},
                  {"table", TableJson(table)}};
  const std::filesystem::path target(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  // Servers sharing the folder may write the same key at once: each writes its
  // own temporary file and renames it, so a reader never sees half a file.
  const std::string temp = absl::StrCat(path, ".tmp", getpid());
  {
    std::ofstream out(temp);
    out << j.dump(2) << "\n";
    if (!out) {
      std::filesystem::remove(temp, ec);
      return absl::UnavailableError(absl::StrCat("cannot write ", temp));
    }
  }
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace lion::runtime
