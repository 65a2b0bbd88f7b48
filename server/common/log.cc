#include "server/common/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace lion {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Serialises writers so that lines never interleave; a leaf lock.
absl::Mutex g_write_mu;

std::string Now() {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);  // std::gmtime's buffer is shared between threads
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return when;
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format.store(format); }

void Log(const std::string& level, const std::string& message, const LogFields& fields) {
  std::string line;
  if (g_format.load() == LogFormat::kJson) {
    nlohmann::json json = {{"ts", Now()}, {"level", level}, {"msg", message}};
    for (const auto& [k, v] : fields) json[k] = v;
    // Invalid UTF-8 in a value (a path, a client's input) becomes U+FFFD
    // instead of an exception.
    line = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = absl::StrCat(Now(), " ", level, " ", message);
    for (const auto& [k, v] : fields) absl::StrAppend(&line, " ", k, "=", v);
  }
  line.push_back('\n');
  absl::MutexLock lock(&g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace lion
