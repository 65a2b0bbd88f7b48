#include "server/repository/repository_scan.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace lion::repository {

namespace fs = std::filesystem;

std::string Fingerprint(const std::string& path) {
  std::string out;
  for (const char* file : {"config.json", "model.safetensors", "vocab.txt"}) {
    std::error_code ec;
    const fs::path p = fs::path(path) / file;
    const auto size = fs::file_size(p, ec);
    if (ec) {
      absl::StrAppend(&out, file, ":-;");
      continue;
    }
    const auto mtime = fs::last_write_time(p, ec);
    const auto ns =
        ec ? 0
           : std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
    absl::StrAppend(&out, file, ":", size, ":", ns, ";");
  }
  return out;
}

std::vector<ModelDirectory> ScanRepository(const std::string& repository) {
  std::vector<ModelDirectory> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repository, ec)) {
    // Hidden folders are staging areas: copy a model in as .name, then rename.
    if (entry.path().filename().string().rfind('.', 0) == 0) continue;
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec) || !fs::exists(entry.path() / "config.json", entry_ec)) {
      continue;
    }
    const std::string path = entry.path().string();
    dirs.push_back({entry.path().filename().string(), path, Fingerprint(path)});
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const ModelDirectory& a, const ModelDirectory& b) { return a.name < b.name; });
  return dirs;
}

}  // namespace lion::repository
