// Quoting user values in error messages: cut short so that a hostile or
// careless value cannot blow up a message (gRPC trailers, HTTP bodies, logs).
#ifndef LION_SERVER_COMMON_QUOTED_H_
#define LION_SERVER_COMMON_QUOTED_H_

#include <string>

#include "absl/strings/string_view.h"

namespace lion {

// `value` as it may appear in an error message: in quotes, cut to `max_bytes`
// (at a UTF-8 character boundary) with its full size noted when cut.
std::string Quoted(absl::string_view value, size_t max_bytes = 128);

}  // namespace lion

#endif  // LION_SERVER_COMMON_QUOTED_H_
