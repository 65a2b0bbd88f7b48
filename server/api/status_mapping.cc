#include "server/api/status_mapping.h"

#include "absl/strings/ascii.h"

namespace lion::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // The message travels in a trailer, and gRPC turns a call whose trailers
  // exceed its metadata limit (8 KiB by default) into RESOURCE_EXHAUSTED:
  // keep it well inside, whatever a message quotes.
  constexpr size_t kMaxMessageBytes = 1024;
  absl::string_view message = status.message();
  std::string text(message.substr(0, kMaxMessageBytes));
  if (message.size() > kMaxMessageBytes) {
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
    text += "... (message cut)";
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::move(text));
}

std::string CodeName(absl::StatusCode code) {
  // absl's names are "INVALID_ARGUMENT" etc., except OK which prints as "OK".
  return absl::AsciiStrToUpper(absl::StatusCodeToString(code));
}

}  // namespace lion::api
