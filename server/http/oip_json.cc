#include "server/http/oip_json.h"

#include "absl/strings/str_cat.h"
#include "server/api/oip_proto.h"
#include "server/common/quoted.h"
#include "server/common/status_macros.h"
#include "server/http/json_util.h"

namespace lion::http {
namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<api::OipParams> ParseParams(const json& j, const std::string& where) {
  api::OipParams params;
  if (j.is_null()) return params;
  if (!j.is_object()) return Invalid(absl::StrCat(where, ": expected an object"));
  for (const auto& [name, value] : j.items()) {
    if (value.is_boolean()) {
      params[name] = value.get<bool>();
    } else if (value.is_number_integer()) {
      params[name] = value.get<int64_t>();
    } else if (value.is_number_float()) {
      params[name] = value.get<double>();
    } else if (value.is_string()) {
      params[name] = value.get<std::string>();
    } else {
      return Invalid(absl::StrCat(where, ".", name, ": expected a boolean, number or string"));
    }
  }
  return params;
}

// Appends the leaves of `data` (nested arrays or one flat array) to `t`.
absl::Status FlattenData(const json& data, api::OipTensor* t) {
  if (data.is_array()) {
    for (const json& item : data) RETURN_IF_ERROR(FlattenData(item, t));
    return absl::OkStatus();
  }
  const std::string where = absl::StrCat("inputs[", t->name, "].data");
  if (t->datatype == "BYTES") {
    if (!data.is_string()) return Invalid(absl::StrCat(where, ": expected strings for BYTES"));
    t->bytes.push_back(data.get<std::string>());
  } else if (t->datatype == "FP32" || t->datatype == "FP64") {
    if (!data.is_number()) return Invalid(absl::StrCat(where, ": expected numbers"));
    t->floats.push_back(data.get<float>());
  } else if (t->datatype == "INT64" || t->datatype == "INT32") {
    if (!data.is_number_integer()) return Invalid(absl::StrCat(where, ": expected integers"));
    t->ints.push_back(data.get<int64_t>());
  } else {
    return Invalid(absl::StrCat("inputs[", t->name, "]: datatype ", Quoted(t->datatype),
                                " is not taken (INT64, INT32, FP32, BYTES)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringField(const json& j, const char* key, const std::string& where,
                                        bool required) {
  if (!j.contains(key)) {
    if (required) return Invalid(absl::StrCat(where, ".", key, ": missing"));
    return std::string();
  }
  if (!j[key].is_string()) return Invalid(absl::StrCat(where, ".", key, ": expected a string"));
  return j[key].get<std::string>();
}

// One input; `binary` is the data after the JSON header, consumed in order.
absl::StatusOr<api::OipTensor> ParseInput(const json& j, std::string_view* binary) {
  if (!j.is_object()) return Invalid("inputs: expected objects");
  api::OipTensor t;
  ASSIGN_OR_RETURN(t.name, StringField(j, "name", "inputs[]", true));
  const std::string where = absl::StrCat("inputs[", t.name, "]");
  ASSIGN_OR_RETURN(t.datatype, StringField(j, "datatype", where, true));
  if (!j.contains("shape") || !j["shape"].is_array()) {
    return Invalid(absl::StrCat(where, ".shape: expected an array of integers"));
  }
  for (const json& d : j["shape"]) {
    if (!d.is_number_integer()) return Invalid(absl::StrCat(where, ".shape: expected integers"));
    t.shape.push_back(d.get<int64_t>());
  }
  ASSIGN_OR_RETURN(t.parameters, ParseParams(j.value("parameters", json()), where + ".parameters"));
  auto size = t.parameters.find("binary_data_size");
  if (size == t.parameters.end()) {
    if (!j.contains("data")) return Invalid(absl::StrCat(where, ".data: missing"));
    RETURN_IF_ERROR(FlattenData(j["data"], &t));
    return t;
  }
  const int64_t* given = std::get_if<int64_t>(&size->second);
  if (given == nullptr || *given < 0 || static_cast<size_t>(*given) > binary->size()) {
    return Invalid(absl::StrCat(where, ".parameters.binary_data_size: more than the binary data"));
  }
  const size_t bytes = static_cast<size_t>(*given);
  t.parameters.erase(size);
  ASSIGN_OR_RETURN(int64_t count, api::ElementCount(t.shape, where));
  const std::string raw(binary->substr(0, bytes));
  binary->remove_prefix(bytes);
  RETURN_IF_ERROR(api::DecodeRaw(raw, count, &t));
  return t;
}

absl::Status ParseOutputs(const json& j, OipJsonRequest* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_array()) return Invalid("outputs: expected an array");
  for (const json& o : j) {
    if (!o.is_object()) return Invalid("outputs: expected objects");
    api::OipRequestedOutput requested;
    ASSIGN_OR_RETURN(requested.name, StringField(o, "name", "outputs[]", true));
    ASSIGN_OR_RETURN(requested.parameters,
                     ParseParams(o.value("parameters", json()),
                                 absl::StrCat("outputs[", requested.name, "].parameters")));
    if (auto it = requested.parameters.find("binary_data"); it != requested.parameters.end()) {
      const bool* binary = std::get_if<bool>(&it->second);
      if (binary == nullptr) return Invalid("outputs[].parameters.binary_data: expected a boolean");
      if (*binary) out->binary_output_names.insert(requested.name);
      requested.parameters.erase(it);
    }
    out->request.outputs.push_back(std::move(requested));
  }
  return absl::OkStatus();
}

}  // namespace

const std::set<std::string>& HttpInferParameters() {
  static const auto* names = new std::set<std::string>{"binary_data_output"};
  return *names;
}

absl::StatusOr<OipJsonRequest> ParseInferRequest(std::string_view body,
                                                 std::optional<size_t> header_length,
                                                 const std::string& model_name,
                                                 const std::string& model_version) {
  if (header_length.has_value() && *header_length > body.size()) {
    return Invalid("Inference-Header-Content-Length: longer than the body");
  }
  std::string_view binary;
  if (header_length.has_value()) {
    binary = body.substr(*header_length);
    body = body.substr(0, *header_length);
  }
  ASSIGN_OR_RETURN(json j, ParseJson(body, "body"));
  if (!j.is_object()) return Invalid("body: expected a JSON object");
  OipJsonRequest out;
  api::OipRequest& req = out.request;
  req.model_name = model_name;
  req.model_version = model_version;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return Invalid("id: expected a string");
    req.id = j["id"].get<std::string>();
  }
  ASSIGN_OR_RETURN(req.parameters, ParseParams(j.value("parameters", json()), "parameters"));
  if (auto it = req.parameters.find("binary_data_output"); it != req.parameters.end()) {
    const bool* binary = std::get_if<bool>(&it->second);
    if (binary == nullptr) return Invalid("parameters.binary_data_output: expected a boolean");
    out.binary_outputs = *binary;
  }
  if (!j.contains("inputs") || !j["inputs"].is_array()) {
    return Invalid("inputs: expected an array of tensors");
  }
  for (const json& input : j["inputs"]) {
    ASSIGN_OR_RETURN(api::OipTensor t, ParseInput(input, &binary));
    req.inputs.push_back(std::move(t));
  }
  if (!binary.empty()) {
    return Invalid(absl::StrCat(binary.size(), " bytes of binary data that no input claims"));
  }
  RETURN_IF_ERROR(ParseOutputs(j.value("outputs", json()), &out));
  return out;
}

std::string WriteInferResponse(const api::OipResponse& response, const OipJsonRequest& asked,
                               std::optional<size_t>* header_length) {
  std::string out = absl::StrCat("{\"model_name\":", JsonString(response.model_name),
                                 ",\"model_version\":", JsonString(response.model_version));
  if (!response.id.empty()) absl::StrAppend(&out, ",\"id\":", JsonString(response.id));
  out += ",\"outputs\":[";
  std::string binary;
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const api::OipOutput& o = response.outputs[i];
    absl::StrAppend(&out, i > 0 ? "," : "", "{\"name\":", JsonString(o.name),
                    ",\"datatype\":\"FP32\",\"shape\":", json(o.shape).dump());
    if (asked.binary_outputs || asked.binary_output_names.count(o.name) > 0) {
      const size_t bytes = o.data.size() * sizeof(float);
      absl::StrAppend(&out, ",\"parameters\":{\"binary_data_size\":", bytes, "}}");
      binary.append(reinterpret_cast<const char*>(o.data.data()), bytes);
    } else {
      out += ",\"data\":";
      AppendFloatArray(o.data.data(), o.data.size(), &out);
      out += "}";
    }
  }
  out += "]}";
  if (!binary.empty()) {
    *header_length = out.size();
    out += binary;
  }
  return out;
}

std::string WriteModelMetadata(const api::OipModelMeta& meta) {
  auto tensors = [](const std::vector<api::OipTensorMeta>& list) {
    json out = json::array();
    for (const api::OipTensorMeta& t : list) {
      out.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
    }
    return out;
  };
  json j = {{"name", meta.name},
            {"versions", {api::OipVersion()}},
            {"platform", "lion-serve"},
            {"inputs", tensors(meta.inputs)},
            {"outputs", tensors(meta.outputs)}};
  return j.dump();
}

}  // namespace lion::http
