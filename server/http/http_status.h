// The one place that turns an absl::Status into an HTTP status and the JSON
// error body {"error": message, "code": "INVALID_ARGUMENT"} (the gRPC code
// name, as lion_requests_total counts it). Thread-safe (no state).
#ifndef LION_SERVER_HTTP_HTTP_STATUS_H_
#define LION_SERVER_HTTP_HTTP_STATUS_H_

#include <string>

#include "absl/status/status.h"

namespace lion::http {

// 400 INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE; 401
// UNAUTHENTICATED; 403 PERMISSION_DENIED; 404 NOT_FOUND; 429
// RESOURCE_EXHAUSTED; 499 CANCELLED; 501 UNIMPLEMENTED; 503 UNAVAILABLE;
// 504 DEADLINE_EXCEEDED; 500 otherwise. (413 is the HTTP layer's own: a body
// over --max_message_bytes.)
int HttpStatusOf(absl::StatusCode code);

// {"error": message (cut to 1 KiB), "code": code name}.
std::string ErrorBody(const absl::Status& status);

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_HTTP_STATUS_H_
