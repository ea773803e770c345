// Errors every storage backend reports the same way.
#ifndef THESIS_SERVER_STORAGE_STORAGE_ERRORS_H_
#define THESIS_SERVER_STORAGE_STORAGE_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/domain/thesis_validation.h"

namespace thesis::storage {

inline absl::Status ThesisNotFound(const std::string& id) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("thesis ", domain::ThesisName(id), " does not exist")),
      "THESIS_NOT_FOUND");
}

inline absl::Status ThesisExists(const std::string& name) {
  return WithReason(absl::AlreadyExistsError(absl::StrCat("thesis ", name, " already exists")),
                    "THESIS_EXISTS");
}

inline absl::Status EtagMismatch() {
  return WithReason(absl::AbortedError("the etag does not match: the record was changed by "
                                       "someone else; read it again"),
                    "ETAG_MISMATCH");
}

inline absl::Status RequestIdReused() {
  return InvalidFieldError("request_id",
                           "was already used for a different request; use a new request_id",
                           "REQUEST_ID_REUSED");
}

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_STORAGE_ERRORS_H_
