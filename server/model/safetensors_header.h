// Parsing and validation of a safetensors header (the JSON that follows the
// 8-byte length): https://github.com/huggingface/safetensors#format.
// No LibTorch, no file access: a pure function of the header text and the
// size of the data section, so every corrupt case is checked before any
// tensor memory is touched.
#ifndef LION_SERVER_MODEL_SAFETENSORS_HEADER_H_
#define LION_SERVER_MODEL_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace lion::model {

// The dtypes we load; any other safetensors dtype is rejected.
enum class DType { kF32, kF16, kBF16 };

// "F32", "F16", "BF16".
const char* DTypeName(DType dtype);
// Bytes per element: 4 or 2.
int64_t DTypeSize(DType dtype);

// One tensor's entry, validated: numel = product of shape (1 for shape []),
// end - begin == numel * DTypeSize(dtype), end <= data section size.
struct TensorInfo {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  uint64_t begin = 0;  // byte offsets into the data section (after the header)
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__" (string values only)
};

// Parses `json_text` and validates every entry against a data section of
// `data_size` bytes: well-formed JSON object; each tensor has a string dtype
// (F32, F16 or BF16), a shape of non-negative integers whose byte size does
// not overflow, and data_offsets [begin, end] with begin <= end <= data_size
// and end - begin equal to the byte size; no two tensors' bytes overlap.
// Errors: INVALID_ARGUMENT naming the tensor (callers add the file name).
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(std::string_view json_text,
                                                         uint64_t data_size);

// "[2, 3]" for error messages.
std::string ShapeString(const std::vector<int64_t>& shape);

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_SAFETENSORS_HEADER_H_
