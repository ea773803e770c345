// `thesis-server migrate` against a real PostgreSQL.
#include "server/storage/migrations.h"

#include <gtest/gtest.h>

#include "server/storage/pg_admin.h"
#include "server/storage/pg_backend.h"
#include "tests/support/backends.h"
#include "tests/support/in_process_server.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace thesis::storage {
namespace {

using grpc::health::v1::HealthCheckResponse;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string admin = testing::TestDatabaseAdminUrl();
    if (admin.empty()) GTEST_SKIP() << testing::kNoDatabaseMessage;
    absl::StatusOr<std::string> url =
        RecreateDatabase(admin, testing::ProcessDatabaseName("thesis_test_migrations"));
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }

  int RunMigrateBinary() {
    testing::Subprocess migrate({THESIS_SERVER_BINARY, "migrate"}, {"THESIS_DATABASE_URL=" + url_});
    EXPECT_TRUE(migrate.started());
    return migrate.Wait();
  }

  std::string Sql(const std::string& sql) {
    absl::StatusOr<std::string> value = ExecSql(url_, sql);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or("");
  }

  std::string url_;
};

TEST_F(MigrationsTest, TwoConcurrentRunnersBothSucceedAndApplyEachMigrationOnce) {
  testing::Subprocess first({THESIS_SERVER_BINARY, "migrate"}, {"THESIS_DATABASE_URL=" + url_});
  testing::Subprocess second({THESIS_SERVER_BINARY, "migrate"}, {"THESIS_DATABASE_URL=" + url_});
  ASSERT_TRUE(first.started() && second.started());
  EXPECT_EQ(first.Wait(), 0);
  EXPECT_EQ(second.Wait(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM schema_migrations"),
            std::to_string(EmbeddedMigrations().size()));
  EXPECT_EQ(Sql("SELECT count(DISTINCT version) FROM schema_migrations"),
            std::to_string(EmbeddedMigrations().size()));
  EXPECT_EQ(Sql("SELECT to_regclass('theses') IS NOT NULL"), "t");
}

TEST_F(MigrationsTest, SecondRunIsANoOp) {
  absl::StatusOr<MigrationReport> first = Migrate(url_, EmbeddedMigrations());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->applied.size(), EmbeddedMigrations().size());
  EXPECT_EQ(first->schema_version, RequiredSchemaVersion());
  const std::string applied_at = Sql("SELECT max(applied_at)::text FROM schema_migrations");
  absl::StatusOr<MigrationReport> second = Migrate(url_, EmbeddedMigrations());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(Sql("SELECT max(applied_at)::text FROM schema_migrations"), applied_at);
}

TEST_F(MigrationsTest, MigrateIndexesRowsWrittenWithoutTheSearchColumns) {
  ASSERT_TRUE(Migrate(url_, EmbeddedMigrations()).ok());
  // Rows loaded around the server (COPY, an old dump) have no index yet.
  Sql("INSERT INTO theses (id, title_zh, abstract_zh, create_time, update_time) "
      "SELECT 'copied-' || i, '电子政务研究' || i, '政府治理', now(), now() "
      "FROM generate_series(1, 2500) AS i");
  EXPECT_EQ(Sql("SELECT count(*) FROM theses WHERE search_version = 0"), "2500");
  absl::StatusOr<MigrationReport> report = Migrate(url_, EmbeddedMigrations());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->theses_indexed, 2500);  // over two batches
  EXPECT_EQ(Sql("SELECT count(*) FROM theses WHERE search_version = 0"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM theses WHERE search_doc @@ '电子 <-> 子政 <-> 政务'"),
            "2500");
  EXPECT_EQ(Sql("SELECT count(*) FROM theses WHERE search_head @@ '治理'"), "0");  // abstract
  // Nothing left: the next run indexes nothing.
  report = Migrate(url_, EmbeddedMigrations());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->theses_indexed, 0);
}

TEST_F(MigrationsTest, RefusesWhenAnAppliedFileWasEdited) {
  ASSERT_TRUE(Migrate(url_, EmbeddedMigrations()).ok());
  std::vector<Migration> edited = EmbeddedMigrations();
  edited.front().sql += "\n-- edited afterwards\n";
  absl::StatusOr<MigrationReport> report = Migrate(url_, edited);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(report.status().message()).find(edited.front().name), std::string::npos);

  // The binary refuses too once the recorded checksum no longer matches.
  Sql("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1");
  EXPECT_NE(RunMigrateBinary(), 0);
}

TEST_F(MigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_TRUE(Migrate(url_, EmbeddedMigrations()).ok());
  Sql("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
  EXPECT_EQ(Migrate(url_, EmbeddedMigrations()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MigrationsTest, ServerIsReadyOnlyOnceTheSchemaIsCurrent) {
  PgOptions options;
  options.database_url = url_;
  ServerConfig config;
  config.workers = 2;
  config.required_schema_version = RequiredSchemaVersion();
  auto server = testing::InProcessServer::Start(std::make_unique<PgBackend>(options), config);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(
      (*server)->WaitForHealth(kLivenessService, HealthCheckResponse::SERVING, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ((*server)->Health(kReadinessService), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Sql("SELECT to_regclass('theses') IS NULL"), "t") << "the server ran DDL";
  ASSERT_EQ(RunMigrateBinary(), 0);
  EXPECT_TRUE(
      (*server)->WaitForHealth(kReadinessService, HealthCheckResponse::SERVING, absl::Seconds(5)));
}

}  // namespace
}  // namespace thesis::storage
