// JSON helpers of the HTTP front: bounded parsing (nesting depth checked
// before nlohmann's parser sees the body) and fast float arrays (the
// shortest text that reads back as the same float32). Thread-safe.
#ifndef LION_SERVER_HTTP_JSON_UTIL_H_
#define LION_SERVER_HTTP_JSON_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace lion::http {

// Deepest nesting of arrays and objects a request body may have.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`: INVALID_ARGUMENT for malformed JSON
// or nesting deeper than kMaxJsonDepth; `what` names the body in messages.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, const std::string& what);

// Appends `[v0,v1,...]` with each float in its shortest round-trip form.
void AppendFloatArray(const float* values, size_t count, std::string* out);

// `value` as a JSON string literal (invalid UTF-8 replaced).
std::string JsonString(std::string_view value);

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_JSON_UTIL_H_
