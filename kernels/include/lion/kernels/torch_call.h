// The one place where an exception thrown by LibTorch (c10::Error) or by the
// standard library under it (std::bad_alloc, std::out_of_range ...) becomes
// an absl::Status. Every module that calls LibTorch (kernels, model,
// runtime) wraps those calls in TorchCall, so that exceptions never unwind
// past a module boundary (docs/architecture.md, "Errors").
//
//   absl::StatusOr<at::Tensor> y = TorchCall("lion_vit head failed", [&] {
//     return head_(x);
//   });
//
// The callable may return a value T, an absl::StatusOr<T> or an absl::Status;
// TorchCall returns absl::StatusOr<T> (absl::Status for the last). An
// exception becomes `code` (INTERNAL unless given) with the message
// "<context>: <what the exception says>"; for a c10::Error that is its message
// without the C++ stack trace LibTorch appends. Other exceptions propagate.
#ifndef LION_KERNELS_TORCH_CALL_H_
#define LION_KERNELS_TORCH_CALL_H_

#include <c10/util/Exception.h>

#include <exception>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lion::kernels {
namespace torch_call_internal {

template <typename R>
struct Result {
  using type = absl::StatusOr<R>;
};
template <typename T>
struct Result<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};
template <>
struct Result<absl::Status> {
  using type = absl::Status;
};

}  // namespace torch_call_internal

// The status TorchCall returns for `e`.
inline absl::Status TorchError(absl::StatusCode code, absl::string_view context,
                               const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const char* what = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  return absl::Status(code, absl::StrCat(context, ": ", what));
}

template <typename F, typename R = typename torch_call_internal::Result<
                          std::remove_cvref_t<std::invoke_result_t<F>>>::type>
R TorchCall(absl::StatusCode code, absl::string_view context, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const std::exception& e) {  // c10::Error derives from std::exception
    return TorchError(code, context, e);
  }
}

template <typename F, typename R = typename torch_call_internal::Result<
                          std::remove_cvref_t<std::invoke_result_t<F>>>::type>
R TorchCall(absl::string_view context, F&& f) {
  return TorchCall(absl::StatusCode::kInternal, context, std::forward<F>(f));
}

}  // namespace lion::kernels

#endif  // LION_KERNELS_TORCH_CALL_H_
