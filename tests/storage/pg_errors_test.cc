// SQLSTATE -> canonical code, and messages that never carry SQL.
#include "server/storage/pg_errors.h"

#include <gtest/gtest.h>

#include <pqxx/except>

namespace thesis::storage {
namespace {

TEST(PgErrorsTest, SqlStatesMapToTheMostSpecificCode) {
  EXPECT_EQ(CodeForSqlState("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(CodeForSqlState("57014"), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(CodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("53300"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForSqlState("42P01"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeForSqlState("23503"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeForSqlState("22001"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeForSqlState("42601"), absl::StatusCode::kInternal);
}

absl::Status MapThrown(const std::exception_ptr& e, bool cancelled, bool* lost) {
  try {
    std::rethrow_exception(e);
  } catch (...) {
    return MapCurrentException("test", cancelled, lost);
  }
}

TEST(PgErrorsTest, MessagesHideTheStatement) {
  bool lost = false;
  const std::string query = "SELECT secret FROM theses WHERE id = $1";
  absl::Status status =
      MapThrown(std::make_exception_ptr(pqxx::sql_error("ERROR: syntax error", query, "42601")),
                false, &lost);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(std::string(status.message()).find("SELECT"), std::string::npos);
  EXPECT_FALSE(lost);

  status =
      MapThrown(std::make_exception_ptr(pqxx::broken_connection("server closed")), false, &lost);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(lost);

  status =
      MapThrown(std::make_exception_ptr(pqxx::sql_error("canceling", query, "57014")), true, &lost);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  status =
      MapThrown(std::make_exception_ptr(pqxx::sql_error("timeout", query, "57014")), false, &lost);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace thesis::storage
