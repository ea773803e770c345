// Plans of the PostgreSQL statements whose speed depends on finding rows by
// key, checked with EXPLAIN on a real PostgreSQL.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "server/storage/migrations.h"
#include "server/storage/pg_admin.h"
#include "server/storage/pg_sql.h"
#include "tests/support/backends.h"
#include "tests/support/test_env.h"

namespace thesis::storage {
namespace {

class PgPlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string admin = testing::TestDatabaseAdminUrl();
    if (admin.empty()) GTEST_SKIP() << testing::kNoDatabaseMessage;
    absl::StatusOr<std::string> url =
        RecreateDatabase(admin, testing::ProcessDatabaseName("thesis_test_plans"));
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    ASSERT_TRUE(Migrate(url_, EmbeddedMigrations()).ok());
  }

  // The plan, as EXPLAIN (FORMAT JSON) text, that a prepared `statement`
  // with `params` parameters gets as its generic plan (the one a connection
  // keeps using) after `settings` in the same transaction.
  std::string GenericPlan(const std::string& settings, const sql::Statement& statement,
                          int params) {
    std::string args;
    for (int i = 0; i < params; ++i) absl::StrAppend(&args, i == 0 ? "" : ", ", "'{}'");
    absl::StatusOr<std::string> plan = ExecSql(
        url_, absl::StrCat("BEGIN; ", settings,
                           "; SET LOCAL plan_cache_mode = force_generic_plan; ", "PREPARE s AS ",
                           statement.text, "; EXPLAIN (FORMAT JSON) EXECUTE s(", args, ")"));
    EXPECT_TRUE(plan.ok()) << statement.name << ": " << plan.status();
    return plan.value_or("");
  }

  std::string url_;
};

// A download batch's statements are planned while the state tables are
// empty (a new deployment) and keep that plan as they grow to millions of
// rows; a plan that reads a whole table made each batch cost 2-6 times the
// PostgreSQL CPU in bench/downloads.sh.
TEST_F(PgPlansTest, DownloadBatchStatementsFindRowsByKeyWhenPlannedOnEmptyTables) {
  const struct {
    const sql::Statement& statement;
    int params;
  } statements[] = {{sql::kDlReadState, 4}, {sql::kDlWrite, 32}};
  for (const auto& s : statements) {
    const std::string plan = GenericPlan(sql::kDlIndexLookups, s.statement, s.params);
    EXPECT_NE(plan.find("Index Scan"), std::string::npos) << s.statement.name << ":\n" << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << s.statement.name << ":\n" << plan;
  }
  // What the settings guard against: without them the state lookup is
  // planned as a sequential scan of the (then small) tables.
  EXPECT_NE(GenericPlan("SELECT 1", sql::kDlReadState, 4).find("Seq Scan"), std::string::npos);
}

}  // namespace
}  // namespace thesis::storage
