#include "server/common/quoted.h"

#include "absl/strings/str_cat.h"

namespace lion {

std::string Quoted(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::StrCat("'", value, "'");
  size_t cut = max_bytes;
  // Back up to a character start so the message stays valid UTF-8.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat("'", value.substr(0, cut), "...' (", value.size(), " bytes)");
}

}  // namespace lion
