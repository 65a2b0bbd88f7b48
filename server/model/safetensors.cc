#include "server/model/safetensors.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace lion::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

// Closes a file descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

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

// Reads exactly `size` bytes at `offset` (pread may return short counts).
absl::Status ReadAt(int fd, const std::string& path, uint64_t offset, char* out, size_t size) {
  while (size > 0) {
    const ssize_t n = pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "read failed", errno);
    if (n == 0) return FileError(path, "file shrank while reading its header");
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

// The whole file, mapped private copy-on-write (the fd is read-only, so the
// file itself can never change through it). MAP_NORESERVE: pages are only
// charged if a caller writes to them.
class SafetensorsFile::Mapping {
 public:
  static absl::StatusOr<std::shared_ptr<const Mapping>> Create(int fd, const std::string& path,
                                                               size_t size) {
    void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (data == MAP_FAILED) return ErrnoError(path, "mmap failed", errno);
    return std::shared_ptr<const Mapping>(new Mapping(static_cast<uint8_t*>(data), size));
  }
  ~Mapping() { munmap(data_, size_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  uint8_t* data() const { return data_; }

 private:
  Mapping(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* const data_;
  const size_t size_;
};

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(path, "cannot open", errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return FileError(path, "not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
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
  ASSIGN_OR_RETURN(std::shared_ptr<const Mapping> mapping,
                   Mapping::Create(fd.get(), path, file_size));
  return std::unique_ptr<SafetensorsFile>(
      new SafetensorsFile(path, std::move(mapping), data_start, *std::move(header)));
}

SafetensorsFile::SafetensorsFile(std::string path, std::shared_ptr<const Mapping> mapping,
                                 uint64_t data_start, SafetensorsHeader header)
    : path_(std::move(path)),
      mapping_(std::move(mapping)),
      data_start_(data_start),
      tensors_(std::move(header.tensors)),
      metadata_(std::move(header.metadata)) {}

SafetensorsFile::~SafetensorsFile() = default;

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
  uint8_t* bytes = mapping_->data() + data_start_ + info.begin;
  const size_t byte_size = info.end - info.begin;
  const at::ScalarType stored = info.dtype == DType::kF32   ? at::kFloat
                                : info.dtype == DType::kF16 ? at::kHalf
                                                            : at::kBFloat16;
  const bool aligned = reinterpret_cast<uintptr_t>(bytes) % DTypeSize(info.dtype) == 0;
  try {
    at::Tensor raw;
    if (aligned && stored == at::kFloat) {
      // The deleter holds a reference to the mapping: the view keeps it alive.
      return at::from_blob(
          bytes, info.shape, [keep = mapping_](void*) {}, at::TensorOptions().dtype(stored));
    }
    if (aligned) {
      raw = at::from_blob(bytes, info.shape, at::TensorOptions().dtype(stored));
    } else {
      raw = at::empty(info.shape, at::TensorOptions().dtype(stored));
      std::memcpy(raw.data_ptr(), bytes, byte_size);
    }
    return stored == at::kFloat ? raw : raw.to(at::kFloat);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat(path_, ": tensor '", name, "': LibTorch failed: ", e.what()));
  }
}

}  // namespace lion::model
