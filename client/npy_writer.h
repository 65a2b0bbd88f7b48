// Writes float32 arrays in NumPy's .npy format (version 1.0, little-endian,
// C order), readable by numpy.load.
#ifndef LION_CLIENT_NPY_WRITER_H_
#define LION_CLIENT_NPY_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace lion::client {

// The complete file contents for `data` with `shape` (the product of `shape`
// must equal data.size(); an empty shape is a scalar).
std::string EncodeNpy(absl::Span<const float> data, absl::Span<const int64_t> shape);

// Writes EncodeNpy(...) to `path`. Errors: INVALID_ARGUMENT on a shape
// mismatch, PERMISSION_DENIED when the file cannot be written.
absl::Status WriteNpy(const std::string& path, absl::Span<const float> data,
                      absl::Span<const int64_t> shape);

}  // namespace lion::client

#endif  // LION_CLIENT_NPY_WRITER_H_
