#include "server/storage/migrations.h"

#include <openssl/sha.h>

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/log.h"
#include "server/storage/pg_backend.h"
#include "server/storage/pg_errors.h"

namespace thesis::storage {
namespace {

// pg_advisory_lock key shared by every migrate runner of this schema.
constexpr int64_t kMigrationLockKey = 0x7468657369730001;  // "thesis" 1

}  // namespace

int RequiredSchemaVersion() {
  int version = 0;
  for (const Migration& m : EmbeddedMigrations()) version = std::max(version, m.version);
  return version;
}

std::string MigrationChecksum(const Migration& migration) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(migration.sql.data()), migration.sql.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<MigrationReport> Migrate(const std::string& database_url,
                                        const std::vector<Migration>& migrations) {
  MigrationReport report;
  try {
    pqxx::connection conn(database_url);
    {
      pqxx::nontransaction n(conn);
      n.exec("SET client_min_messages = warning");
      // Held until the connection closes, whatever happens below.
      n.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
      n.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY,"
          " name text NOT NULL,"
          " checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
    }
    std::map<int, std::pair<std::string, std::string>> applied;  // version -> name, checksum
    {
      pqxx::nontransaction n(conn);
      for (const auto& row : n.exec("SELECT version, name, checksum FROM schema_migrations")) {
        applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
      }
    }
    std::map<int, const Migration*> known;
    for (const Migration& m : migrations) known[m.version] = &m;
    for (const auto& [version, info] : applied) {
      auto it = known.find(version);
      if (it == known.end()) {
        return absl::FailedPreconditionError(
            absl::StrCat("the database has migration ", version, " (", info.first,
                         ") that this binary does not know: it is newer than this binary"));
      }
      if (MigrationChecksum(*it->second) != info.second) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", it->second->name,
            " was edited after it was applied (checksum differs); add a new migration instead"));
      }
    }
    for (const auto& [version, migration] : known) {
      if (applied.count(version)) continue;
      pqxx::work txn(conn);
      txn.exec(migration->sql);
      txn.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                      version, migration->name, MigrationChecksum(*migration));
      txn.commit();
      report.applied.push_back(migration->name);
      LogInfo(absl::StrCat("migrate: applied ", migration->name));
    }
    report.schema_version = known.empty() ? 0 : known.rbegin()->first;
    // The data steps after the schema steps: plain DML through the storage
    // layer, on a connection of their own, still under the migration lock
    // (so concurrent runners do them once).
    PgOptions options;
    options.database_url = database_url;
    options.default_statement_timeout = absl::Minutes(30);
    options.application_name = "thesis-server migrate";
    PgBackend backend(options);
    std::unique_ptr<Session> session = backend.NewSession();
    auto exists = [&conn](const char* sql) {
      pqxx::nontransaction n(conn);
      return n.exec1(sql)[0].as<bool>();
    };
    // Records written before the search columns existed, or indexed by an
    // older version of the analyzer, are indexed now (docs/search.md).
    if (exists("SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE "
               "table_name = 'theses' AND column_name = 'search_version')")) {
      const absl::Time start = absl::Now();
      absl::StatusOr<int64_t> indexed = session->theses().IndexStale(CallContext{});
      if (!indexed.ok()) return indexed.status();
      report.theses_indexed = *indexed;
      if (*indexed > 0) {
        LogInfo(absl::StrCat("migrate: indexed ", *indexed, " theses for search in ",
                             absl::FormatDuration(absl::Now() - start)));
      }
    }
    // A migration that changed a classification table leaves the stored
    // placements behind it; place every thesis again.
    if (exists("SELECT to_regclass('class_schemes') IS NOT NULL")) {
      absl::StatusOr<int64_t> placed = session->classes().PlaceStale(CallContext{});
      if (!placed.ok()) return placed.status();
      report.theses_placed = *placed;
      if (*placed > 0) LogInfo(absl::StrCat("migrate: placed ", *placed, " theses in classes"));
    }
    return report;
  } catch (...) {
    bool lost = false;
    absl::Status status = MapCurrentException("migrate", false, &lost);
    if (lost || status.code() == absl::StatusCode::kInternal) {
      // Connection failures surface as pqxx::broken_connection; say so plainly.
      return absl::Status(status.code(), absl::StrCat("migrate: ", status.message()));
    }
    return status;
  }
}

}  // namespace thesis::storage
