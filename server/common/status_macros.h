// Early-return helpers for absl::Status / absl::StatusOr call sites.
#ifndef THESIS_SERVER_COMMON_STATUS_MACROS_H_
#define THESIS_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define THESIS_CONCAT_INNER_(a, b) a##b
#define THESIS_CONCAT_(a, b) THESIS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status thesis_status_ = (expr);          \
    if (!thesis_status_.ok()) return thesis_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(THESIS_CONCAT_(thesis_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(*statusor)

#endif  // THESIS_SERVER_COMMON_STATUS_MACROS_H_
