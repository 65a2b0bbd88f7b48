#include "server/api/oip_proto.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/api/wire.h"
#include "server/common/status_macros.h"

namespace lion::api {
namespace {

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<OipParams> ParamsFromProto(
    const google::protobuf::Map<std::string, inference::InferParameter>& params) {
  OipParams out;
  for (const auto& [name, p] : params) {
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam:
        out[name] = p.bool_param();
        break;
      case inference::InferParameter::kInt64Param:
        out[name] = p.int64_param();
        break;
      case inference::InferParameter::kStringParam:
        out[name] = p.string_param();
        break;
      case inference::InferParameter::kDoubleParam:
        out[name] = p.double_param();
        break;
      case inference::InferParameter::kUint64Param:
        out[name] = static_cast<int64_t>(p.uint64_param());
        break;
      default:
        return Invalid(absl::StrCat("parameters.", name, ": no value"));
    }
  }
  return out;
}

template <typename T>
void ReadLittleEndian(const std::string& raw, std::vector<int64_t>* ints,
                      std::vector<float>* floats) {
  const size_t n = raw.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));  // x86/ARM hosts are little-endian
    if constexpr (std::is_floating_point_v<T>) {
      floats->push_back(static_cast<float>(v));
    } else {
      ints->push_back(static_cast<int64_t>(v));
    }
  }
}

absl::Status FromContents(inference::InferTensorContents& c, OipTensor* t) {
  if (t->datatype == "INT64") {
    t->ints.assign(c.int64_contents().begin(), c.int64_contents().end());
  } else if (t->datatype == "INT32") {
    t->ints.assign(c.int_contents().begin(), c.int_contents().end());
  } else if (t->datatype == "FP32") {
    t->floats.assign(c.fp32_contents().begin(), c.fp32_contents().end());
  } else if (t->datatype == "BYTES") {
    for (std::string& b : *c.mutable_bytes_contents()) t->bytes.push_back(std::move(b));
  } else {
    return Invalid(absl::StrCat(t->name, ": datatype ", Quoted(t->datatype),
                                " is not taken (INT64, INT32, FP32, BYTES)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeRaw(const std::string& raw, int64_t count, OipTensor* t) {
  if (t->datatype == "BYTES") {
    size_t at = 0;
    while (at < raw.size()) {
      uint32_t length = 0;
      if (raw.size() - at < 4) return Invalid(absl::StrCat(t->name, ": raw BYTES cut short"));
      if (static_cast<int64_t>(t->bytes.size()) >= count) {
        return Invalid(absl::StrCat(t->name, ": more raw BYTES elements than its shape holds"));
      }
      std::memcpy(&length, raw.data() + at, 4);
      at += 4;
      if (raw.size() - at < length) return Invalid(absl::StrCat(t->name, ": raw BYTES cut short"));
      t->bytes.emplace_back(raw.data() + at, length);
      at += length;
    }
    return absl::OkStatus();
  }
  size_t width = 0;
  if (t->datatype == "INT64") width = 8;
  if (t->datatype == "INT32" || t->datatype == "FP32") width = 4;
  if (width == 0) {
    return Invalid(absl::StrCat(t->name, ": datatype ", Quoted(t->datatype),
                                " is not taken (INT64, INT32, FP32, BYTES)"));
  }
  if (static_cast<int64_t>(raw.size()) != count * static_cast<int64_t>(width)) {
    return Invalid(absl::StrCat(t->name, ": ", raw.size(), " raw bytes, expected ", count, " x ",
                                width, " for its shape and datatype"));
  }
  if (t->datatype == "INT64") ReadLittleEndian<int64_t>(raw, &t->ints, &t->floats);
  if (t->datatype == "INT32") ReadLittleEndian<int32_t>(raw, &t->ints, &t->floats);
  if (t->datatype == "FP32") ReadLittleEndian<float>(raw, &t->ints, &t->floats);
  return absl::OkStatus();
}

absl::StatusOr<OipRequest> FromProto(inference::ModelInferRequest& m) {
  OipRequest req;
  req.model_name = m.model_name();
  req.model_version = m.model_version();
  req.id = m.id();
  ASSIGN_OR_RETURN(req.parameters, ParamsFromProto(m.parameters()));
  const bool raw = m.raw_input_contents_size() > 0;
  if (raw && m.raw_input_contents_size() != m.inputs_size()) {
    return Invalid(absl::StrCat("raw_input_contents: ", m.raw_input_contents_size(),
                                " entries for ", m.inputs_size(), " inputs"));
  }
  for (int i = 0; i < m.inputs_size(); ++i) {
    inference::ModelInferRequest::InferInputTensor& in = *m.mutable_inputs(i);
    OipTensor t;
    t.name = in.name();
    t.datatype = in.datatype();
    t.shape.assign(in.shape().begin(), in.shape().end());
    ASSIGN_OR_RETURN(t.parameters, ParamsFromProto(in.parameters()));
    if (raw) {
      if (in.has_contents()) {
        return Invalid(absl::StrCat(t.name, ": contents and raw_input_contents both given"));
      }
      ASSIGN_OR_RETURN(int64_t count, ElementCount(t.shape, t.name));
      RETURN_IF_ERROR(DecodeRaw(m.raw_input_contents(i), count, &t));
    } else {
      RETURN_IF_ERROR(FromContents(*in.mutable_contents(), &t));
    }
    req.inputs.push_back(std::move(t));
  }
  for (const auto& out : m.outputs()) {
    OipRequestedOutput o;
    o.name = out.name();
    ASSIGN_OR_RETURN(o.parameters, ParamsFromProto(out.parameters()));
    req.outputs.push_back(std::move(o));
  }
  return req;
}

void ToProto(OipResponse response, bool raw, inference::ModelInferResponse* m) {
  m->set_model_name(response.model_name);
  m->set_model_version(response.model_version);
  m->set_id(response.id);
  for (OipOutput& out : response.outputs) {
    auto* t = m->add_outputs();
    t->set_name(out.name);
    t->set_datatype("FP32");
    t->mutable_shape()->Assign(out.shape.begin(), out.shape.end());
    if (raw) {
      m->add_raw_output_contents()->assign(reinterpret_cast<const char*>(out.data.data()),
                                           out.data.size() * sizeof(float));
    } else {
      t->mutable_contents()->mutable_fp32_contents()->Assign(out.data.begin(), out.data.end());
    }
  }
}

}  // namespace lion::api
