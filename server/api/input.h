// Turns the `input` oneof of a lion.v1 request (text, token ids or image) into
// a runtime::SequenceInput: tokenizes, decodes, truncates and validates, with
// INVALID_ARGUMENT errors that name the field and the limit. Thread-safe.
#ifndef LION_SERVER_API_INPUT_H_
#define LION_SERVER_API_INPUT_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lion/kernels/attention_options.h"
#include "lion/v1/lion.pb.h"
#include "server/api/served_model.h"
#include "server/runtime/model.h"

namespace lion::api {

// The parts of a request the input decoder reads; one of text/ids/image is set.
struct InputView {
  const std::string* text = nullptr;
  const google::protobuf::RepeatedField<int32_t>* ids = nullptr;
  const v1::Image* image = nullptr;
  v1::Truncation truncation = v1::TRUNCATION_NONE;
};

template <typename Req>
InputView ViewOf(const Req& req) {
  InputView view;
  view.truncation = req.truncation();
  if (req.has_text()) view.text = &req.text();
  if (req.has_token_ids()) view.ids = &req.token_ids().ids();
  if constexpr (requires { req.has_image(); }) {
    if (req.has_image()) view.image = &req.image();
  }
  return view;
}

// Errors: INVALID_ARGUMENT naming the field and the limit; CANCELLED when
// `should_stop` (may be empty) stopped the tokenizer.
absl::StatusOr<runtime::SequenceInput> DecodeInput(const InputView& view, const ServedModel& model,
                                                   const std::function<bool()>& should_stop);

// Most of the magnitude a normalised pixel value may have: far beyond any
// real image, small enough that the model's arithmetic cannot overflow.
inline constexpr float kMaxPixelMagnitude = 1e6f;

// The tokenizer's truncation for a (valid) lion.v1 truncation.
tokenizer::Truncation ToTokenizerTruncation(v1::Truncation t);

// FORM_AUTO -> nullopt; FULL/CHUNK/RNN -> that form; others INVALID_ARGUMENT.
absl::StatusOr<std::optional<kernels::Form>> DecodeForm(v1::Form form);

}  // namespace lion::api

#endif  // LION_SERVER_API_INPUT_H_
