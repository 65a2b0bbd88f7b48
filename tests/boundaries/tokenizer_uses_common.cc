// Probe: code of the tokenizer module using a server/common header. lion_tokenizer
// links lion_common PRIVATE, so a target that links only lion_tokenizer must not
// see server/common (tests/boundaries/CMakeLists.txt).
#include "absl/status/status.h"
#include "server/common/status_macros.h"

namespace lion::probe {

absl::Status Probe(absl::Status s) {
  RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

}  // namespace lion::probe
