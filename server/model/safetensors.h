// Read-only access to a .safetensors weights file.
//
// Open() validates the whole header (see safetensors_header.h) before it reads
// any tensor bytes, so a truncated, corrupt or mismatched file is an error,
// never a crash. Tensors are read (pread) into memory the process owns: no
// tensor handed out is a view of the file, so a file that is truncated or
// rewritten in place later changes nothing the process holds (a mapping of
// the file would die with SIGBUS on truncation and see rewrites). The file
// stays open for the life of the object.
#ifndef LION_SERVER_MODEL_SAFETENSORS_H_
#define LION_SERVER_MODEL_SAFETENSORS_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/model/safetensors_header.h"

namespace lion::model {

// Not copyable. Thread-safe after Open(): all methods are const.
class SafetensorsFile {
 public:
  // Headers larger than this are rejected (the official writer's limit).
  static constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

  // Opens and validates `path`. Errors: NOT_FOUND when the file does not
  // exist; INVALID_ARGUMENT (message starts with the path) for something
  // other than a regular file, a file shorter than 8 bytes, a header length
  // over kMaxHeaderBytes or past the end of the file, invalid JSON, any
  // invalid tensor entry; INTERNAL for I/O failures.
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

  // ABORTED (naming the file) when the file's identity, size or modification
  // time differs from what Open saw: it was rewritten while being read, so
  // tensors read from it may mix old and new bytes. Call after the last
  // Float32 of a load.
  absl::Status CheckUnchanged() const;

  // The tensor as a new contiguous CPU float32 at::Tensor of its stored
  // shape, read from the file on each call (call once per tensor): F32 is
  // read straight into the tensor, F16 / BF16 are read and converted. The
  // tensor owns its memory and outlives this object.
  // expected_shape: empty accepts any shape; otherwise a different stored
  // shape is INVALID_ARGUMENT naming the tensor, both shapes and the file.
  // NOT_FOUND when the tensor is absent; ABORTED when the file has shrunk
  // since Open; INTERNAL if LibTorch throws or for I/O failures.
  absl::StatusOr<at::Tensor> Float32(const std::string& name,
                                     const std::vector<int64_t>& expected_shape = {}) const;

 private:
  // What identifies one version of the file.
  struct Stamp {
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  SafetensorsFile(std::string path, int fd, Stamp stamp, uint64_t data_start,
                  SafetensorsHeader header);
  static absl::StatusOr<Stamp> StampOf(int fd, const std::string& path);

  const std::string path_;
  const int fd_;               // read-only; closed by the destructor
  const Stamp stamp_;          // at Open
  const uint64_t data_start_;  // file offset of the data section: 8 + header length
  const std::map<std::string, TensorInfo> tensors_;
  const std::map<std::string, std::string> metadata_;
};

}  // namespace lion::model

#endif  // LION_SERVER_MODEL_SAFETENSORS_H_
