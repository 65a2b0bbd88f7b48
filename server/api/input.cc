#include "server/api/input.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/image/preprocess.h"

namespace lion::api {
namespace {

using repository::ServedModel;

absl::Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }


absl::Status CheckTruncation(v1::Truncation t) {
  if (v1::Truncation_IsValid(t)) return absl::OkStatus();
  return Invalid(absl::StrCat("truncation: unknown value ", static_cast<int>(t)));
}

absl::StatusOr<runtime::SequenceInput> FromText(const std::string& text, v1::Truncation truncation,
                                                const ServedModel& m,
                                                const std::function<bool()>& should_stop) {
  if (m.tokenizer == nullptr) {
    return Invalid(absl::StrCat("text: model ", m.description.name,
                                " takes images (set image), not text"));
  }
  if (text.empty()) return Invalid("text: must not be empty");
  if (static_cast<int64_t>(text.size()) > m.max_text_bytes) {
    return Invalid(absl::StrCat("text: ", text.size(), " bytes, more than the limit of ",
                                m.max_text_bytes, " bytes (--max_text_bytes)"));
  }
  tokenizer::EncodeOptions options;
  options.max_length = static_cast<uint32_t>(m.max_input_tokens);
  options.truncation = ToTokenizerTruncation(truncation);
  options.should_stop = should_stop;
  auto encoding = m.tokenizer->Encode(text, options);
  if (!encoding.ok()) {
    if (encoding.status().code() == absl::StatusCode::kCancelled) return encoding.status();
    return Invalid(absl::StrCat("text: ", encoding.status().message(),
                                " (max_input_tokens of model ", m.description.name, " is ",
                                m.max_input_tokens, ")"));
  }
  runtime::SequenceInput in;
  in.token_ids = std::move(encoding->ids);
  return in;
}

absl::StatusOr<runtime::SequenceInput> FromIds(const google::protobuf::RepeatedField<int32_t>& ids,
                                               v1::Truncation truncation, const ServedModel& m) {
  if (m.description.architecture == runtime::Architecture::kVit) {
    return Invalid(absl::StrCat("token_ids: model ", m.description.name,
                                " takes images (set image), not token ids"));
  }
  if (ids.empty()) return Invalid("token_ids.ids: must not be empty");
  const int64_t limit = m.max_input_tokens;
  int64_t begin = 0, end = ids.size();
  if (ids.size() > limit) {
    if (truncation == v1::TRUNCATION_NONE) {
      return Invalid(absl::StrCat("token_ids.ids: ", ids.size(), " tokens exceed max_input_tokens=",
                                  limit, " of model ", m.description.name,
                                  " (or set truncation)"));
    }
    if (truncation == v1::TRUNCATION_RIGHT) end = limit; else begin = ids.size() - limit;
  }
  runtime::SequenceInput in;
  for (int64_t i = begin; i < end; ++i) {
    const int32_t id = ids[static_cast<int>(i)];
    if (id < 0 || id >= m.description.vocab_size) {
      return Invalid(absl::StrCat("token_ids.ids[", i, "]: ", id, " is outside the vocabulary [0, ",
                                  m.description.vocab_size, ")"));
    }
    in.token_ids.push_back(id);
  }
  return in;
}

absl::StatusOr<runtime::SequenceInput> FromImage(const v1::Image& image, const ServedModel& m,
                                                 const std::function<bool()>& should_stop) {
  const runtime::ModelDescription& d = m.description;
  if (d.architecture != runtime::Architecture::kVit) {
    return Invalid(absl::StrCat("image: model ", d.name, " takes text or token_ids, not images"));
  }
  image::ImageOptions options;
  options.channels = d.num_channels;
  options.height = options.width = d.image_size;
  options.mean = d.image_mean;
  options.std = d.image_std;
  runtime::SequenceInput in;
  in.channels = d.num_channels;
  in.height = in.width = d.image_size;
  if (image.has_pixels()) {
    const v1::Tensor& t = image.pixels();
    if (t.shape_size() != 3) {
      return Invalid(absl::StrCat("image.pixels.shape: ", t.shape_size(),
                                  " entries, expected 3 ([C, H, W])"));
    }
    absl::Status s = image::ValidatePixels(absl::MakeConstSpan(t.data().data(), t.data().size()),
                                           absl::MakeConstSpan(t.shape().data(), t.shape().size()),
                                           options);
    if (!s.ok()) return s;
    for (int i = 0; i < t.data_size(); ++i) {
      if (std::abs(t.data(i)) > kMaxPixelMagnitude) {
        return Invalid(absl::StrCat("image.pixels.data[", i, "]: ", t.data(i),
                                    " is outside [-1e6, 1e6] (pixels are normalised values)"));
      }
    }
    in.pixels.assign(t.data().begin(), t.data().end());
    return in;
  }
  if (image.encoded().empty()) return Invalid("image: set encoded (PNG/JPEG) or pixels");
  // Decoding is bounded by the decoders' pixel limit; a request that is
  // already gone is not decoded at all.
  if (should_stop && should_stop()) return absl::CancelledError("request gone before decoding");
  auto pixels = image::DecodeAndPreprocess(image.encoded(), options);
  if (!pixels.ok()) {
    return Invalid(absl::StrCat("image.encoded: ", pixels.status().message()));
  }
  in.pixels = std::move(*pixels);
  return in;
}

}  // namespace

absl::StatusOr<runtime::SequenceInput> DecodeInput(const InputView& view, const ServedModel& m,
                                                   const std::function<bool()>& should_stop) {
  RETURN_IF_ERROR(CheckTruncation(view.truncation));
  if (view.text != nullptr) return FromText(*view.text, view.truncation, m, should_stop);
  if (view.ids != nullptr) return FromIds(*view.ids, view.truncation, m);
  if (view.image != nullptr) return FromImage(*view.image, m, should_stop);
  return Invalid("input: set one of text, token_ids or image");
}

tokenizer::Truncation ToTokenizerTruncation(v1::Truncation t) {
  switch (t) {
    case v1::TRUNCATION_RIGHT: return tokenizer::Truncation::kRight;
    case v1::TRUNCATION_LEFT: return tokenizer::Truncation::kLeft;
    default: return tokenizer::Truncation::kNone;
  }
}

absl::StatusOr<std::optional<kernels::Form>> DecodeForm(v1::Form form) {
  switch (form) {
    case v1::FORM_AUTO: return std::optional<kernels::Form>();
    case v1::FORM_FULL: return std::optional<kernels::Form>(kernels::Form::kFull);
    case v1::FORM_CHUNK: return std::optional<kernels::Form>(kernels::Form::kChunk);
    case v1::FORM_RNN: return std::optional<kernels::Form>(kernels::Form::kRnn);
    default: return Invalid(absl::StrCat("form: unknown value ", static_cast<int>(form)));
  }
}

}  // namespace lion::api
