#include "tests/support/backends.h"

#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/storage/memory_backend.h"
#include "server/storage/migrations.h"
#include "server/storage/pg_admin.h"
#include "server/storage/pg_backend.h"
#include "tests/support/test_env.h"

namespace thesis::testing {

std::string ProcessDatabaseName(const std::string& prefix) {
  return prefix + "_" + std::to_string(getpid());
}

absl::StatusOr<std::string> MakeMigratedDatabase(const std::string& db_name) {
  const std::string admin = TestDatabaseAdminUrl();
  if (admin.empty()) return absl::FailedPreconditionError(kNoDatabaseMessage);
  absl::StatusOr<std::string> url = storage::RecreateDatabase(admin, ProcessDatabaseName(db_name));
  if (!url.ok()) return url.status();
  absl::StatusOr<storage::MigrationReport> report =
      storage::Migrate(*url, storage::EmbeddedMigrations());
  if (!report.ok()) return report.status();
  return *url;
}

absl::StatusOr<std::unique_ptr<storage::Backend>> MakeEmptyBackend(BackendKind kind,
                                                                   const std::string& db_name) {
  if (kind == BackendKind::kMemory) return std::make_unique<storage::MemoryBackend>();
  static absl::Mutex mu;
  static auto* urls = new absl::flat_hash_map<std::string, std::string>();
  absl::MutexLock lock(&mu);
  auto it = urls->find(db_name);
  if (it == urls->end()) {
    absl::StatusOr<std::string> url = MakeMigratedDatabase(db_name);
    if (!url.ok()) return url.status();
    it = urls->emplace(db_name, *url).first;
  }
  absl::StatusOr<std::string> truncated = storage::ExecSql(
      it->second,
      "TRUNCATE theses, request_log, download_events, download_chains, "
      "download_unique_sessions, download_requests, download_daily, download_monthly, "
      "thesis_classes, class_counts, classes");
  if (!truncated.ok()) return truncated.status();
  // The classification tables as the migrations leave them: the built-in
  // defaults, a new generation, no placements.
  std::string builtins;
  for (const storage::Migration& m : storage::EmbeddedMigrations()) {
    if (m.name == "0006_builtin_classes.up.sql") builtins = m.sql;
  }
  absl::StatusOr<std::string> reset = storage::ExecSql(
      it->second,
      "UPDATE class_schemes SET version = 'builtin'; "
      "INSERT INTO class_counts (scheme, code) SELECT s.scheme, p.code FROM class_schemes s, "
      "(VALUES ('~unresolved'), ('~none'), ('~classified')) AS p(code); " +
          builtins + "UPDATE class_schemes SET placed_generation = generation;");
  if (!reset.ok()) return reset.status();
  storage::PgOptions options;
  options.database_url = it->second;
  return std::make_unique<storage::PgBackend>(options);
}

}  // namespace thesis::testing
