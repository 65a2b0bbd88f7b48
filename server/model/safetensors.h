// Read-only access to a .safetensors weights file.
//
// Open() validates the whole header (see safetensors_header.h) before it maps
// any tensor bytes, so a truncated, corrupt or mismatched file is an error,
// never a crash. The file is mapped with mmap (not copied) for the life of
// the object and of every tensor view handed out.
#ifndef LION_SERVER_MODEL_SAFETENSORS_H_
#define LION_SERVER_MODEL_SAFETENSORS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/model/safetensors_header.h"

namespace lion::model {

// Not copyable. Thread-safe after Open(): all methods are const.
class SafetensorsFile {
 public:
  // Headers larger than this are rejected (the official writer's limit).
  static constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

  // Opens and validates `path`. Errors: NOT_FOUND when the file does not
  // exist; INVALID_ARGUMENT (message starts with the path) for a file shorter
  // than 8 bytes, a header length over kMaxHeaderBytes or past the end of the
  // file, invalid JSON, any invalid tensor entry; INTERNAL for I/O failures.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // NOT_FOUND (naming the tensor and file) when absent.
  absl::StatusOr<TensorInfo> info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor as a contiguous CPU float32 at::Tensor of its stored shape.
  //  - F32: a zero-copy view of the mapping (a copy only when the stored
  //    bytes are not 4-byte aligned). The view shares ownership of the
  //    mapping, so it stays valid after this object is destroyed. The
  //    mapping is private copy-on-write: writing to the tensor copies the
  //    touched pages and never changes the file. Models that keep weights
  //    should use them as they are (no clone needed).
  //  - F16 / BF16: converted to a new float32 tensor on each call; call once
  //    per tensor.
  // expected_shape: empty accepts any shape; otherwise a different stored
  // shape is INVALID_ARGUMENT naming the tensor, both shapes and the file.
  // NOT_FOUND when the tensor is absent; INTERNAL if LibTorch throws.
  absl::StatusOr<at::Tensor> Float32(const std::string& name,
                                     const std::vector<int64_t>& expected_shape = {}) const;

 private:
  class Mapping;

  SafetensorsFile(std::string path, std::shared_ptr<const Mapping> mapping, uint64_t data_start,
                  SafetensorsHeader header);

  const std::string path_;
  const std::shared_ptr<const Mapping> mapping_;
  const uint64_t data_start_;  // file offset of the data section: 8 + header length
  const std::map<std::string, TensorInfo> tensors_;
  const std::map<std::string, std::string> metadata_;
};

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_SAFETENSORS_H_
