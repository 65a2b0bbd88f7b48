#include "server/api/api_keys.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lion::api {

absl::StatusOr<std::unique_ptr<ApiKeys>> ApiKeys::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--api_key_file: cannot read ", path));
  std::set<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    std::string key(absl::StripAsciiWhitespace(line));
    if (!key.empty() && key[0] != '#') keys.insert(key);
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--api_key_file: no keys in ", path));
  }
  return std::unique_ptr<ApiKeys>(new ApiKeys(std::move(keys)));
}

absl::Status ApiKeys::Check(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  bool presented = false;
  for (const char* header : {"authorization", "x-api-key"}) {
    auto [begin, end] = metadata.equal_range(header);
    for (auto it = begin; it != end; ++it) {
      std::string value(it->second.data(), it->second.size());
      if (std::string(header) == "authorization") {
        if (!absl::StartsWithIgnoreCase(value, "bearer ")) continue;
        value = value.substr(7);
      }
      presented = true;
      if (keys_.count(std::string(absl::StripAsciiWhitespace(value))) > 0) {
        return absl::OkStatus();
      }
    }
  }
  return absl::UnauthenticatedError(presented ? "invalid API key"
                                              : "missing API key: send 'authorization: Bearer KEY'");
}

}  // namespace lion::api
