#include "server/model/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lion/kernels/torch_call.h"
#include "server/common/status_macros.h"

namespace lion::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

// Closes a file descriptor on every path until release().
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status ErrnoError(const std::string& path, const char* what, int err) {
  const std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(err));
  return err == ENOENT ? absl::NotFoundError(message) : absl::InternalError(message);
}

absl::Status FileError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Reads exactly `size` bytes at `offset` (pread may return short counts). A
// file that ends early was truncated after Open validated its size: ABORTED.
absl::Status ReadAt(int fd, const std::string& path, uint64_t offset, char* out, size_t size) {
  while (size > 0) {
    const ssize_t n = pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "read failed", errno);
    if (n == 0) {
      return absl::AbortedError(absl::StrCat(path, ": file ends at byte ", offset,
                                             ", shorter than when it was opened (truncated while "
                                             "being read?)"));
    }
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SafetensorsFile::Stamp> SafetensorsFile::StampOf(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return FileError(path, "not a regular file");
  Stamp stamp;
  stamp.device = static_cast<uint64_t>(st.st_dev);
  stamp.inode = static_cast<uint64_t>(st.st_ino);
  stamp.size = static_cast<uint64_t>(st.st_size);
  stamp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return stamp;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
  // rejected as not a regular file); it changes nothing for regular files.
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoError(path, "cannot open", errno);
  ASSIGN_OR_RETURN(const Stamp stamp, StampOf(fd.get(), path));
  const uint64_t file_size = stamp.size;
  if (file_size < 8) {
    return FileError(path, absl::StrCat("file is ", file_size,
                                        " bytes, too short for the 8-byte header length"));
  }
  uint8_t length_bytes[8];
  RETURN_IF_ERROR(ReadAt(fd.get(), path, 0, reinterpret_cast<char*>(length_bytes), 8));
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = header_size << 8 | length_bytes[i];
  if (header_size > kMaxHeaderBytes) {
    return FileError(path, absl::StrCat("header length ", header_size, " exceeds the limit of ",
                                        kMaxHeaderBytes, " bytes"));
  }
  if (header_size > file_size - 8) {
    return FileError(path, absl::StrCat("header length ", header_size, " runs past the end of the ",
                                        file_size, "-byte file (truncated?)"));
  }
  std::string header_text(header_size, '\0');
  RETURN_IF_ERROR(ReadAt(fd.get(), path, 8, header_text.data(), header_size));
  const uint64_t data_start = 8 + header_size;
  absl::StatusOr<SafetensorsHeader> header =
      ParseSafetensorsHeader(header_text, file_size - data_start);
  if (!header.ok()) return FileError(path, header.status().message());
  return std::unique_ptr<SafetensorsFile>(
      new SafetensorsFile(path, fd.release(), stamp, data_start, *std::move(header)));
}

SafetensorsFile::SafetensorsFile(std::string path, int fd, Stamp stamp, uint64_t data_start,
                                 SafetensorsHeader header)
    : path_(std::move(path)),
      fd_(fd),
      stamp_(stamp),
      data_start_(data_start),
      tensors_(std::move(header.tensors)),
      metadata_(std::move(header.metadata)) {}

SafetensorsFile::~SafetensorsFile() { close(fd_); }

absl::Status SafetensorsFile::CheckUnchanged() const {
  ASSIGN_OR_RETURN(const Stamp now, StampOf(fd_, path_));
  if (now == stamp_) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(
      path_, ": file changed while it was being read (size ", stamp_.size, " -> ", now.size,
      " bytes, or its modification time); its tensors may mix two versions"));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) names.push_back(name);
  return names;
}

absl::StatusOr<TensorInfo> SafetensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor '", name, "'"));
  }
  return it->second;
}

absl::StatusOr<at::Tensor> SafetensorsFile::Float32(
    const std::string& name, const std::vector<int64_t>& expected_shape) const {
  ASSIGN_OR_RETURN(const TensorInfo info, this->info(name));
  if (!expected_shape.empty() && expected_shape != info.shape) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor '", name, "' has shape ",
                                                   ShapeString(info.shape), ", expected ",
                                                   ShapeString(expected_shape)));
  }
  const size_t byte_size = info.end - info.begin;
  const at::ScalarType stored = info.dtype == DType::kF32   ? at::kFloat
                                : info.dtype == DType::kF16 ? at::kHalf
                                                            : at::kBFloat16;
  return kernels::TorchCall(
      absl::StrCat(path_, ": tensor '", name, "': LibTorch failed"),
      [&]() -> absl::StatusOr<at::Tensor> {
        at::Tensor raw = at::empty(info.shape, at::TensorOptions().dtype(stored));
        RETURN_IF_ERROR(ReadAt(fd_, path_, data_start_ + info.begin,
                               static_cast<char*>(raw.data_ptr()), byte_size));
        return stored == at::kFloat ? raw : raw.to(at::kFloat);
      });
}

}  // namespace lion::model
