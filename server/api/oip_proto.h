// ModelInfer's protobuf form (proto/inference/grpc_predict_v2.proto) to and
// from the front-neutral OipRequest / OipResponse (oip_infer.h), including
// raw_input_contents / raw_output_contents (little-endian, row-major; BYTES
// elements each a 4-byte little-endian length and the bytes). Thread-safe
// (no state).
#ifndef LION_SERVER_API_OIP_PROTO_H_
#define LION_SERVER_API_OIP_PROTO_H_

#include "absl/status/statusor.h"
#include "inference/grpc_predict_v2.pb.h"
#include "server/api/oip_infer.h"

namespace lion::api {

// INVALID_ARGUMENT for unsupported datatypes, raw contents that do not match
// the shapes, or both raw and typed contents. The message's data is moved.
absl::StatusOr<OipRequest> FromProto(inference::ModelInferRequest& message);

// With `raw`, the outputs go to raw_output_contents, else to contents.
void ToProto(OipResponse response, bool raw, inference::ModelInferResponse* message);

// The elements of one raw tensor (`datatype`, `count` elements) into `t`.
absl::Status DecodeRaw(const std::string& raw, int64_t count, OipTensor* t);

}  // namespace lion::api

#endif  // LION_SERVER_API_OIP_PROTO_H_
