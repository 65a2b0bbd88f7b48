// The Open Inference Protocol's REST form (KServe v2 JSON) to and from the
// front-neutral OipRequest / OipResponse (server/api/oip_infer.h), with
// Triton's binary tensor data extension: a body whose JSON part is
// Inference-Header-Content-Length bytes long, followed by the raw data of
// every input that has parameters.binary_data_size (in input order, laid
// out like raw_input_contents). Outputs go back as binary when the request
// asks (parameters.binary_data_output, or an output's binary_data).
// Thread-safe (no state).
#ifndef LION_SERVER_HTTP_OIP_JSON_H_
#define LION_SERVER_HTTP_OIP_JSON_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/api/oip_infer.h"

namespace lion::http {

// What ModelInfer's REST form needs besides the request.
struct OipJsonRequest {
  api::OipRequest request;
  bool binary_outputs = false;  // every output in binary
  std::set<std::string> binary_output_names;
};

// `header_length`: the Inference-Header-Content-Length header, if sent.
// INVALID_ARGUMENT naming the field for malformed JSON, wrong types, data
// that does not match its shape, or binary sizes that do not add up.
absl::StatusOr<OipJsonRequest> ParseInferRequest(std::string_view body,
                                                 std::optional<size_t> header_length,
                                                 const std::string& model_name,
                                                 const std::string& model_version);

// The response body; `header_length` is set when binary data follows the JSON.
std::string WriteInferResponse(const api::OipResponse& response, const OipJsonRequest& asked,
                               std::optional<size_t>* header_length);

// ModelMetadata as JSON.
std::string WriteModelMetadata(const api::OipModelMeta& meta);

// The front-level parameter names ParseInferRequest leaves for PlanInfer to accept.
const std::set<std::string>& HttpInferParameters();

}  // namespace lion::http

#endif  // LION_SERVER_HTTP_OIP_JSON_H_
