// API keys for --api_key_file: one key a line (blank lines and lines starting
// with '#' ignored). Clients send `authorization: Bearer KEY` or
// `x-api-key: KEY`. Immutable after Load: thread-safe.
#ifndef LION_SERVER_API_API_KEYS_H_
#define LION_SERVER_API_API_KEYS_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/support/string_ref.h>

#include "absl/status/statusor.h"

namespace lion::api {

class ApiKeys {
 public:
  // Errors: NOT_FOUND when unreadable, INVALID_ARGUMENT when it holds no key.
  static absl::StatusOr<std::unique_ptr<ApiKeys>> Load(const std::string& path);

  // OK, or UNAUTHENTICATED saying what is missing or wrong (never the key).
  absl::Status Check(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;
  // The same for the values of every `authorization` and `x-api-key` header.
  absl::Status Check(const std::vector<std::string>& authorization,
                     const std::vector<std::string>& api_key) const;

 private:
  explicit ApiKeys(std::set<std::string> keys) : keys_(std::move(keys)) {}
  std::set<std::string> keys_;
};

}  // namespace lion::api

#endif  // LION_SERVER_API_API_KEYS_H_
