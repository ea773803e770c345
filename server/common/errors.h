// Building absl::Status values that carry google.rpc error details.
//
// Details travel inside the process as absl::Status payloads keyed by their
// type URL, holding the serialized detail message. api/grpc_status.h turns
// them into the google.rpc.Status in the grpc-status-details-bin trailer.
#ifndef THESIS_SERVER_COMMON_ERRORS_H_
#define THESIS_SERVER_COMMON_ERRORS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace thesis {

// ErrorInfo.domain of every error this service reports.
inline constexpr char kErrorDomain[] = "thesis.v1";
inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT listing the violations (the first 40 of them, so that the
// details fit in a response header), with reason `reason`. The message
// names the first field and the count, so that logs and plain clients see
// them too.
absl::Status InvalidArgumentError(const std::vector<FieldViolation>& violations,
                                  absl::string_view reason = "INVALID_FIELD");
absl::Status InvalidFieldError(absl::string_view field, absl::string_view description,
                               absl::string_view reason = "INVALID_FIELD");

// Returns `status` with an ErrorInfo{reason, kErrorDomain} payload added.
absl::Status WithReason(absl::Status status, absl::string_view reason);

// The ErrorInfo reason carried by `status`, or "" if none.
std::string ErrorReason(const absl::Status& status);
// The field violations carried by `status`.
std::vector<FieldViolation> FieldViolations(const absl::Status& status);

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_ERRORS_H_
