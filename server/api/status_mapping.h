// The one place that turns absl::Status into grpc::Status (codes have the same
// numeric values; this keeps the conversion explicit and in one file).
#ifndef LION_SERVER_API_STATUS_MAPPING_H_
#define LION_SERVER_API_STATUS_MAPPING_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lion::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

// "OK", "INVALID_ARGUMENT", ...: the `code` label of lion_requests_total.
std::string CodeName(absl::StatusCode code);

}  // namespace lion::api

#endif  // LION_SERVER_API_STATUS_MAPPING_H_
