#include "client/npy_writer.h"

#include <bit>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lion::client {

static_assert(std::endian::native == std::endian::little,
              "EncodeNpy writes the native byte order as '<f4'");

std::string EncodeNpy(absl::Span<const float> data, absl::Span<const int64_t> shape) {
  // A 1-tuple needs its trailing comma: "(3,)".
  const std::string dims =
      shape.size() == 1 ? absl::StrCat(shape[0], ",") : absl::StrJoin(shape, ", ");
  std::string header =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  // Magic (6) + version (2) + header length (2) + header + '\n' is padded
  // with spaces to a multiple of 64 bytes.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  const size_t bytes = data.size() * sizeof(float);
  const size_t at = out.size();
  out.resize(at + bytes);
  if (bytes > 0) std::memcpy(out.data() + at, data.data(), bytes);
  return out;
}

absl::Status WriteNpy(const std::string& path, absl::Span<const float> data,
                      absl::Span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != static_cast<int64_t>(data.size())) {
    return absl::InvalidArgumentError(absl::StrCat("npy: shape (", absl::StrJoin(shape, ","),
                                                   ") does not hold ", data.size(), " values"));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string bytes = EncodeNpy(data, shape);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

}  // namespace lion::client
