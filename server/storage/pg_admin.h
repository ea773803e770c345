// Administrative helpers for tests and benchmarks: throwaway databases and
// plain SQL. Not used by the server itself.
#ifndef THESIS_SERVER_STORAGE_PG_ADMIN_H_
#define THESIS_SERVER_STORAGE_PG_ADMIN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace thesis::storage {

// Drops and creates database `name` on the server of `admin_url`; returns
// the URL of the new database. Refuses names that do not contain "test" or
// "bench", so that it never drops a real database.
absl::StatusOr<std::string> RecreateDatabase(const std::string& admin_url, absl::string_view name);

// Runs `sql` (one or more statements); returns the first column of the first
// row of the last statement, or "" when there is none.
absl::StatusOr<std::string> ExecSql(const std::string& url, const std::string& sql);

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_PG_ADMIN_H_
