// Schema migrations: migrations/NNNN_name.up.sql, embedded in the binary at
// build time and applied by `thesis-server migrate`.
#ifndef THESIS_SERVER_STORAGE_MIGRATIONS_H_
#define THESIS_SERVER_STORAGE_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace thesis::storage {

struct Migration {
  int version;
  std::string name;  // file name
  std::string sql;
};

// Every migration of this build, in version order.
const std::vector<Migration>& EmbeddedMigrations();
// The schema version this binary needs: the highest embedded version.
int RequiredSchemaVersion();
// SHA-256 of the file's text, in hex.
std::string MigrationChecksum(const Migration& migration);

struct MigrationReport {
  std::vector<std::string> applied;  // names applied by this run
  int schema_version = 0;            // after the run
  int64_t theses_placed = 0;         // theses placed again in changed classification tables
  int64_t theses_indexed = 0;        // theses whose search index was (re)written
};

// Applies the migrations not yet applied, each in its own transaction, under
// a PostgreSQL advisory lock so that concurrent runners are safe (the later
// ones wait, then find nothing to do). FAILED_PRECONDITION when an applied
// migration's file was edited since, or the database has versions this
// binary does not know; UNAVAILABLE when the database cannot be reached.
absl::StatusOr<MigrationReport> Migrate(const std::string& database_url,
                                        const std::vector<Migration>& migrations);

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_MIGRATIONS_H_
