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
  std::vector<std::string> values[2];
  const char* headers[2] = {"authorization", "x-api-key"};
  for (int h = 0; h < 2; ++h) {
    auto [begin, end] = metadata.equal_range(headers[h]);
    for (auto it = begin; it != end; ++it) values[h].emplace_back(it->second.data(), it->second.size());
  }
  return Check(values[0], values[1]);
}

absl::Status ApiKeys::Check(const std::vector<std::string>& authorization,
                            const std::vector<std::string>& api_key) const {
  bool presented = false;
  auto accepted = [&](absl::string_view key) {
    presented = true;
    return keys_.count(std::string(absl::StripAsciiWhitespace(key))) > 0;
  };
  for (const std::string& value : authorization) {
    if (absl::StartsWithIgnoreCase(value, "bearer ") && accepted(absl::string_view(value).substr(7))) {
      return absl::OkStatus();
    }
  }
  for (const std::string& value : api_key) {
    if (accepted(value)) return absl::OkStatus();
  }
  return absl::UnauthenticatedError(presented ? "invalid API key"
                                              : "missing API key: send 'authorization: Bearer KEY'");
}

}  // namespace lion::api
