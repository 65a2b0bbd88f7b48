#include "server/api/status_mapping.h"

#include "absl/strings/ascii.h"

namespace lion::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string CodeName(absl::StatusCode code) {
  // absl's names are "INVALID_ARGUMENT" etc., except OK which prints as "OK".
  return absl::AsciiStrToUpper(absl::StatusCodeToString(code));
}

}  // namespace lion::api
