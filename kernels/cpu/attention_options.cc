#include "lion/kernels/attention_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace lion::kernels {

const char* FormName(Form form) {
  switch (form) {
    case Form::kFull:
      return "full";
    case Form::kChunk:
      return "chunk";
    case Form::kRnn:
      return "rnn";
  }
  return "unknown";
}

bool ParseForm(std::string_view name, Form* form) {
  for (Form f : {Form::kFull, Form::kChunk, Form::kRnn}) {
    if (name == FormName(f)) {
      *form = f;
      return true;
    }
  }
  return false;
}

absl::Status AttentionOptions::Validate() const {
  if (form != Form::kFull && form != Form::kChunk && form != Form::kRnn) {
    return absl::InvalidArgumentError(absl::StrCat("unknown attention form ", static_cast<int>(form)));
  }
  if (chunk_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("chunk_size must be >= 1, got ", chunk_size));
  }
  if (!std::isfinite(scale) || scale <= 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat("scale must be finite and > 0, got ", scale));
  }
  if (!std::isfinite(eps) || eps < 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat("eps must be finite and >= 0, got ", eps));
  }
  return absl::OkStatus();
}

absl::Status AttentionShape::Validate() const {
  if (batch < 0 || heads < 1 || length < 0 || dk < 1 || dv < 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad attention shape B=", batch, " H=", heads,
                                                   " L=", length, " dk=", dk, " dv=", dv));
  }
  return absl::OkStatus();
}

double AttentionFlops(Form form, int64_t length, int64_t d, int64_t chunk_size) {
  const double L = static_cast<double>(length);
  const double D = static_cast<double>(d);
  const double C = static_cast<double>(std::min(chunk_size, length));
  switch (form) {
    case Form::kFull:
      return 4.0 * L * L * D + 3.0 * L * L;
    case Form::kChunk:
      return 4.0 * L * C * D + 8.0 * L * D * D + 3.0 * L * C;
    case Form::kRnn:
      return 8.0 * L * D * D;
  }
  return 0.0;
}

}  // namespace lion::kernels
