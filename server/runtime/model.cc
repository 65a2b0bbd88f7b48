#include "server/runtime/model.h"

namespace lion::runtime {

int64_t SequenceInput::Length(int64_t patch_size) const {
  if (!is_image()) return static_cast<int64_t>(token_ids.size());
  if (patch_size <= 0) return 0;
  return (height / patch_size) * (width / patch_size) + 1;  // patches + CLS
}

}  // namespace lion::runtime
