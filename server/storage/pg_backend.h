// PostgreSQL storage through libpqxx. One PgSession owns one connection;
// it connects lazily, prepares each statement once per connection, and
// reconnects on the next call after the connection was lost.
#ifndef THESIS_SERVER_STORAGE_PG_BACKEND_H_
#define THESIS_SERVER_STORAGE_PG_BACKEND_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/storage/class_tree_cache.h"
#include "server/storage/session.h"

namespace thesis::storage {

struct PgOptions {
  std::string database_url;
  // statement_timeout for calls without a deadline.
  absl::Duration default_statement_timeout = absl::Seconds(30);
  // Shown in pg_stat_activity.
  std::string application_name = "thesis-server";
  // Classification tables loaded by this process's sessions; made by
  // PgBackend when not given.
  std::shared_ptr<ClassTreeCache> class_trees;
};

class PgBackend : public Backend {
 public:
  explicit PgBackend(PgOptions options);
  std::unique_ptr<Session> NewSession() override;

 private:
  PgOptions options_;
};

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_PG_BACKEND_H_
