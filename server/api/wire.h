// lion.v1 messages to and from the bytes gRPC carries. The services take raw
// ByteBuffers (gRPC's own parsing answers a bad message with UNIMPLEMENTED and
// an empty message, and would copy an oversized text before any limit could
// apply), so that:
//  - a text longer than its limit is refused from the wire-format length
//    alone, before the message is parsed (copied);
//  - a message that does not parse, or has a string field that is not valid
//    UTF-8, is INVALID_ARGUMENT naming the message type or the field.
// Thread-safe (no state).
#ifndef LION_SERVER_API_WIRE_H_
#define LION_SERVER_API_WIRE_H_

#include <cstdint>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lion::api {

struct WireLimits {
  int64_t max_text_bytes = int64_t{8} << 20;  // a string field named `text`
  int64_t max_name_bytes = 1024;              // every other string field (model, id)
};

// Parses `bytes` into `out` (cleared first), checking `limits` first.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, const WireLimits& limits,
                          google::protobuf::Message* out);

// Serializes `message` into `out`. INVALID_ARGUMENT naming the limit when it
// is larger than `max_bytes` (what gRPC would refuse to send); INTERNAL if
// protobuf fails.
absl::Status SerializeResponse(const google::protobuf::Message& message, int64_t max_bytes,
                               grpc::ByteBuffer* out);

// `value` as it may appear in an error message: in quotes, cut to `max_bytes`
// (at a UTF-8 character boundary) with its full size noted when cut.
std::string Quoted(absl::string_view value, size_t max_bytes = 128);

}  // namespace lion::api

#endif  // LION_SERVER_API_WIRE_H_
