// The Open Inference Protocol's ModelInfer, independent of its wire form:
// both the gRPC service and the HTTP/JSON front decode their request into an
// OipRequest, and encode the OipResponse. PlanInfer turns a request into
// one lion.v1-style row per batch entry (InferRow, tasks.h) so that every
// row batches with all other traffic; AssembleOutputs puts the rows' results
// back together in order. ModelMetadata comes from DescribeForOip.
//
// Tensors (docs/api.md): inputs `input_ids` INT64 (or INT32) [B, L] with an
// optional `attention_mask` of the same shape, or `text` BYTES [B] (or
// [B, 1]), or `pixel_values` FP32 [B, C, H, W]; outputs `logits` FP32
// [B, labels] (classifiers), `embeddings` FP32 [B, hidden] and, when asked,
// `token_embeddings` FP32 [B, L, hidden] (rows shorter than the longest are
// zero-padded). Parameters: form, pooling, normalize, truncation; anything
// else is INVALID_ARGUMENT naming it. Thread-safe (no state).
#ifndef LION_SERVER_API_OIP_INFER_H_
#define LION_SERVER_API_OIP_INFER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "server/api/tasks.h"
#include "server/runtime/request.h"

namespace lion::api {

using OipParam = std::variant<bool, int64_t, double, std::string>;
using OipParams = std::map<std::string, OipParam>;

// One input tensor; the elements sit in the vector of their datatype
// (INT* / UINT*: ints; FP32 / FP64: floats; BYTES: bytes).
struct OipTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  OipParams parameters;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> bytes;
};

struct OipRequestedOutput {
  std::string name;
  OipParams parameters;
};

struct OipRequest {
  std::string model_name;
  std::string model_version;
  std::string id;
  OipParams parameters;
  std::vector<OipTensor> inputs;
  std::vector<OipRequestedOutput> outputs;  // empty: the model's default outputs
};

// An FP32 output tensor.
struct OipOutput {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct OipResponse {
  std::string model_name;
  std::string model_version;
  std::string id;
  std::vector<OipOutput> outputs;
};

struct OipTensorMeta {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;  // -1: variable
};

struct OipModelMeta {
  std::string name;
  std::vector<OipTensorMeta> inputs;
  std::vector<OipTensorMeta> outputs;
};

// The version every model is served as ("1").
const std::string& OipVersion();

// Inputs and outputs of `model` as ModelMetadata reports them.
OipModelMeta DescribeForOip(const ServedModel& model);

// OK for "" and OipVersion(); NOT_FOUND naming the model otherwise.
absl::Status CheckVersion(const std::string& version, const std::string& model);

// The product of `shape`; INVALID_ARGUMENT naming `what` for a negative
// dimension or a product past 2^40.
absl::StatusOr<int64_t> ElementCount(const std::vector<int64_t>& shape, const std::string& what);

struct OipPlan {
  std::vector<std::shared_ptr<InferRow>> rows;  // one per batch entry
  std::vector<std::string> outputs;             // in response order
  int64_t hidden_size = 0;
};

// Validates `req` against `model` and splits it into rows; the tensors'
// data is moved out of `req`. `front_parameters`: parameter names the front
// handles itself (e.g. HTTP's binary_data_output), accepted here.
absl::StatusOr<OipPlan> PlanInfer(OipRequest& req, const ServedModel& model,
                                  const std::set<std::string>& front_parameters);

// The plan's outputs from one result per row (row order).
std::vector<OipOutput> AssembleOutputs(const OipPlan& plan, std::vector<runtime::Result>& results);

}  // namespace lion::api

#endif  // LION_SERVER_API_OIP_INFER_H_
