// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's abseil (20220623) lacks
// absl/status/status_macros.h, so the project defines its own.
#ifndef LION_SERVER_COMMON_STATUS_MACROS_H_
#define LION_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LION_STATUS_CONCAT_INNER_(a, b) a##b
#define LION_STATUS_CONCAT_(a, b) LION_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller when not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status lion_status_ = (expr);                       \
    if (!lion_status_.ok()) return lion_status_;                \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs` (which may
// be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  LION_ASSIGN_OR_RETURN_IMPL_(LION_STATUS_CONCAT_(lion_statusor_, __LINE__), lhs, expr)

#define LION_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // LION_SERVER_COMMON_STATUS_MACROS_H_
