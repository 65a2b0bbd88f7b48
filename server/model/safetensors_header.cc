#include "server/model/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace lion::model {
namespace {

using Json = nlohmann::json;

// The format nests three levels deep ({name: {shape: [..]}}); anything much
// deeper is not a safetensors header, and refusing it early bounds the parse.
constexpr int kMaxJsonDepth = 8;
constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

absl::Status TensorError(const std::string& name, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("tensor '", name, "': ", absl::string_view(what.data(), what.size())));
}

absl::StatusOr<DType> ParseDType(const std::string& name, const Json& entry) {
  auto it = entry.find("dtype");
  if (it == entry.end() || !it->is_string()) {
    return TensorError(name, "missing or non-string \"dtype\"");
  }
  const std::string& dtype = it->get_ref<const std::string&>();
  if (dtype == "F32") return DType::kF32;
  if (dtype == "F16") return DType::kF16;
  if (dtype == "BF16") return DType::kBF16;
  return TensorError(
      name, absl::StrCat("dtype \"", dtype, "\" is not supported (supported: F32, F16, BF16)"));
}

// A non-negative integer that fits in int64 (nlohmann stores non-negative
// integer literals as unsigned; negatives and decimals are other types).
bool IsIndex(const Json& value) {
  return value.is_number_unsigned() && value.get<uint64_t>() <= kMaxInt64;
}

absl::StatusOr<TensorInfo> ParseTensor(const std::string& name, const Json& entry,
                                       uint64_t data_size) {
  if (!entry.is_object()) return TensorError(name, "entry is not a JSON object");
  TensorInfo info;
  ASSIGN_OR_RETURN(info.dtype, ParseDType(name, entry));

  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) {
    return TensorError(name, "missing or non-array \"shape\"");
  }
  uint64_t numel = 1;
  for (const Json& dim : *shape) {
    if (!IsIndex(dim)) {
      return TensorError(
          name, absl::StrCat("shape entry ", dim.dump(), " is not a non-negative 64-bit integer"));
    }
    info.shape.push_back(dim.get<int64_t>());
    if (__builtin_mul_overflow(numel, dim.get<uint64_t>(), &numel) || numel > kMaxInt64) {
      return TensorError(name, absl::StrCat("shape ", shape->dump(), " overflows"));
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(DTypeSize(info.dtype)), &bytes)) {
    return TensorError(name, absl::StrCat("shape ", shape->dump(), " overflows"));
  }
  info.numel = static_cast<int64_t>(numel);

  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !IsIndex((*offsets)[0]) || !IsIndex((*offsets)[1])) {
    return TensorError(name, "missing \"data_offsets\" or not two non-negative integers");
  }
  info.begin = (*offsets)[0].get<uint64_t>();
  info.end = (*offsets)[1].get<uint64_t>();
  if (info.begin > info.end || info.end > data_size) {
    return TensorError(name, absl::StrCat("data_offsets [", info.begin, ", ", info.end,
                                          "] outside the data section of ", data_size, " bytes"));
  }
  if (info.end - info.begin != bytes) {
    return TensorError(
        name, absl::StrCat("shape ", ShapeString(info.shape), " of ", DTypeName(info.dtype),
                           " needs ", bytes, " bytes, data_offsets give ", info.end - info.begin));
  }
  return info;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(const Json& value) {
  std::map<std::string, std::string> metadata;
  if (!value.is_object()) {
    return absl::InvalidArgumentError("\"__metadata__\" is not a JSON object");
  }
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"__metadata__\" value of \"", key, "\" is not a string"));
    }
    metadata[key] = item.get<std::string>();
  }
  return metadata;
}

absl::Status CheckNoOverlap(const std::map<std::string, TensorInfo>& tensors) {
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_offset;
  for (const auto& [name, info] : tensors) {
    if (info.end > info.begin) by_offset.emplace_back(&name, &info);  // empty ones own no bytes
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto& a, const auto& b) { return a.second->begin < b.second->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1].second;
    const TensorInfo& next = *by_offset[i].second;
    if (next.begin < prev.end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensors '", *by_offset[i - 1].first, "' [", prev.begin, ", ", prev.end, ") and '",
          *by_offset[i].first, "' [", next.begin, ", ", next.end, ") overlap"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ParseJson(std::string_view text) {
  // nlohmann::json reports bad JSON (and the depth limit) by throwing; not
  // LibTorch, so not TorchCall.
  try {
    const Json::parser_callback_t limit_depth = [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth) throw std::length_error("JSON nested too deeply");
      return true;
    };
    return Json::parse(text.begin(), text.end(), limit_depth);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("header is not valid JSON: ", e.what()));
  }
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
  }
  return "?";
}

int64_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(std::string_view json_text,
                                                         uint64_t data_size) {
  ASSIGN_OR_RETURN(Json json, ParseJson(json_text));
  if (!json.is_object()) return absl::InvalidArgumentError("header is not a JSON object");
  SafetensorsHeader header;
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      ASSIGN_OR_RETURN(header.metadata, ParseMetadata(entry));
      continue;
    }
    ASSIGN_OR_RETURN(TensorInfo info, ParseTensor(name, entry, data_size));
    header.tensors.emplace(name, std::move(info));
  }
  RETURN_IF_ERROR(CheckNoOverlap(header.tensors));
  return header;
}

}  // namespace lion::model
