// Conversion between grpc::Status and absl::Status. The two share the
// canonical code numbering, so the code and message are kept unchanged.
#ifndef LION_CLIENT_GRPC_STATUS_H_
#define LION_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace lion::client {

absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace lion::client

#endif  // LION_CLIENT_GRPC_STATUS_H_
