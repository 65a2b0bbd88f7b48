#include "server/http/json_util.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace lion::http {
namespace {

// Deepest nesting outside strings; stops counting past `limit`.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, const std::string& what) {
  if (NestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": JSON nested deeper than ", kMaxJsonDepth, " levels"));
  }
  nlohmann::json parsed =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded())
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid JSON"));
  return parsed;
}

void AppendFloatArray(const float* values, size_t count, std::string* out) {
  out->reserve(out->size() + count * 12 + 2);
  out->push_back('[');
  char buffer[32];
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out->push_back(',');
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), values[i]);
    out->append(buffer, result.ptr);
  }
  out->push_back(']');
}

std::string JsonString(std::string_view value) {
  return nlohmann::json(std::string(value))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lion::http
