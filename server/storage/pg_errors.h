// Mapping libpqxx exceptions to absl::Status by SQLSTATE. Internal to
// server/storage: nothing outside it sees libpqxx.
#ifndef THESIS_SERVER_STORAGE_PG_ERRORS_H_
#define THESIS_SERVER_STORAGE_PG_ERRORS_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace thesis::storage {

// Maps the exception in flight (call inside a catch block) to a status whose
// message is safe to show a client: it never holds SQL text. The full error
// is logged. `cancelled_by_us` turns 57014 into CANCELLED instead of
// DEADLINE_EXCEEDED. Sets `*connection_lost` when the connection is unusable.
absl::Status MapCurrentException(absl::string_view operation, bool cancelled_by_us,
                                 bool* connection_lost);

// The canonical code for a SQLSTATE.
absl::StatusCode CodeForSqlState(absl::string_view sqlstate);

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_PG_ERRORS_H_
