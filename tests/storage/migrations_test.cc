// `thesis-server migrate` against a real PostgreSQL.
#include "server/storage/migrations.h"

#include <gtest/gtest.h>

#include "absl/strings/str_replace.h"
#include "server/domain/search_index.h"
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

// Imports write new rows with a binary COPY (the search documents in
// tsvector's binary form) and CreateThesis with a text INSERT: the same
// record must give the same row either way, column by column.
TEST_F(MigrationsTest, ImportedRowsEqualCreatedRowsInEveryColumn) {
  ASSERT_TRUE(Migrate(url_, EmbeddedMigrations()).ok());
  PgOptions options;
  options.database_url = url_;
  PgBackend backend(options);
  std::unique_ptr<Session> session = backend.NewSession();

  std::vector<thesis::v1::Thesis> records(3);
  records[0].set_title_zh("電子政務服務質量研究：以蘭州為例");
  records[0].set_title_en("It's a \\back\\slash 'quoted' study, ＦＵＬＬ width, 2024");
  records[0].add_authors("王伟");
  records[0].add_authors("Li O'Neill");
  records[0].add_advisors("江正平");
  records[0].add_advisors("");
  records[0].set_institution("兰州大学");
  records[0].set_discipline("公共管理");
  records[0].set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  records[0].set_degree_year(2009);
  std::string long_abstract;
  for (int i = 0; i < 3000; ++i) long_abstract += "政府治理与数据共享，";  // > 16383 positions
  records[0].set_abstract_zh(long_abstract);
  records[0].set_abstract_en(
      "Governments govern; governance is \"governing\" {with} commas, tabs\tand\nlines.");
  records[0].add_keywords_zh("电子政务");
  records[0].add_keywords_zh("服务质量");
  records[0].add_keywords_en("e-government");
  records[0].mutable_online_publication()->set_contributor("兰州大学");
  records[0].mutable_online_publication()->set_year(2011);
  records[0].mutable_online_publication()->set_issue("S1");
  records[0].add_classification_codes("D630");
  records[0].add_classification_codes("TP311.13;TP391");
  records[0].mutable_source()->set_database("CMFD");
  records[0].mutable_source()->set_record_id("2010163123.nh");
  records[0].mutable_source()->set_url("https://example.org/a?b=1&c=\"2\"");
  records[0].set_language("zh");
  records[0].set_legacy_download_count(1234567890123);
  records[1].set_title_en("A record with almost nothing");  // empty arrays, no count
  records[2].set_title_zh("零");
  records[2].set_legacy_download_count(0);
  records[2].set_degree_level(thesis::v1::DEGREE_LEVEL_DOCTOR);
  records[2].set_degree_year(-1);

  std::vector<ImportItem> items;
  for (size_t i = 0; i < records.size(); ++i) {
    thesis::v1::Thesis created = records[i];
    created.set_name("theses/created-" + std::to_string(i));
    ASSERT_TRUE(session->theses().Create({}, created, std::nullopt).ok());
    ImportItem item;
    item.thesis = records[i];
    item.id = "imported-" + std::to_string(i);
    item.id_given = true;
    item.import_key = "nat:test-" + std::to_string(i);
    if (i != 1) item.index = domain::search::IndexRecord(item.thesis, /*binary=*/true);
    items.push_back(std::move(item));  // item 1: the backend computes the index
  }
  absl::StatusOr<std::vector<ImportOutcome>> outcomes = session->theses().Import({}, items);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), records.size());
  for (ImportOutcome o : *outcomes) EXPECT_EQ(o, ImportOutcome::kCreated);

  // Every column but the id, the import key and the times.
  const std::string columns =
      Sql("SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
          "FROM information_schema.columns WHERE table_name = 'theses' AND column_name NOT IN "
          "('id', 'import_key', 'create_time', 'update_time')");
  ASSERT_NE(columns.find("search_doc"), std::string::npos);
  EXPECT_EQ(Sql("SELECT count(*) FROM theses c JOIN theses i ON i.id = 'imported-' || "
                "substr(c.id, 9) WHERE c.id LIKE 'created-%' AND ROW(" +
                absl::StrReplaceAll(columns, {{", ", ", c."}}).insert(0, "c.") +
                ") IS NOT DISTINCT FROM ROW(" +
                absl::StrReplaceAll(columns, {{", ", ", i."}}).insert(0, "i.") + ")"),
            std::to_string(records.size()));
  // And the documents are what the index says, as PostgreSQL prints them.
  const domain::search::IndexedRecord index = domain::search::IndexRecord(records[0]);
  EXPECT_EQ(Sql("SELECT search_doc::text FROM theses WHERE id = 'imported-0'"), index.doc);
  EXPECT_EQ(Sql("SELECT search_head::text FROM theses WHERE id = 'imported-0'"), index.head);
  EXPECT_EQ(Sql("SELECT import_key FROM theses WHERE id = 'imported-2'"), "nat:test-2");
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
