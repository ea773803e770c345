// The storage backends the contract tests run against.
#ifndef THESIS_TESTS_SUPPORT_BACKENDS_H_
#define THESIS_TESTS_SUPPORT_BACKENDS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/session.h"

namespace thesis::testing {

enum class BackendKind { kMemory, kPostgres };

inline std::string BackendName(BackendKind kind) {
  return kind == BackendKind::kMemory ? "Memory" : "Postgres";
}

// A fresh, empty backend. For PostgreSQL: database `db_name` is recreated on
// the test server once per process and migrated, then emptied on each call.
// Fails (the caller skips) when no test database is configured.
absl::StatusOr<std::unique_ptr<storage::Backend>> MakeEmptyBackend(BackendKind kind,
                                                                   const std::string& db_name);

// `prefix` + "_" + pid: ctest runs test cases as parallel processes, each
// needs databases of its own.
std::string ProcessDatabaseName(const std::string& prefix);

// URL of a freshly recreated and migrated database (named by
// ProcessDatabaseName(db_name)).
absl::StatusOr<std::string> MakeMigratedDatabase(const std::string& db_name);

}  // namespace thesis::testing

#endif  // THESIS_TESTS_SUPPORT_BACKENDS_H_
