#include "server/storage/pg_errors.h"

#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/errors.h"
#include "server/common/log.h"

namespace thesis::storage {

absl::StatusCode CodeForSqlState(absl::string_view s) {
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  if (s == "40001" || s == "40P01") return absl::StatusCode::kAborted;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (s == "55P03") return absl::StatusCode::kAborted;                   // lock_not_available
  if (absl::StartsWith(s, "08")) return absl::StatusCode::kUnavailable;  // connection exception
  if (s == "57P01" || s == "57P02" || s == "57P03") return absl::StatusCode::kUnavailable;
  if (absl::StartsWith(s, "53")) return absl::StatusCode::kUnavailable;  // insufficient resources
  if (s == "42P01" || s == "42703") return absl::StatusCode::kFailedPrecondition;  // schema
  if (absl::StartsWith(s, "23")) return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(s, "22")) return absl::StatusCode::kInvalidArgument;
  return absl::StatusCode::kInternal;
}

absl::Status MapCurrentException(absl::string_view operation, bool cancelled_by_us,
                                 bool* connection_lost) {
  *connection_lost = false;
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    *connection_lost = true;
    LogWarning(absl::StrCat("storage: ", operation, ": connection lost: ", e.what()));
    return WithReason(absl::UnavailableError("the database is unavailable; retry later"),
                      "DATABASE_UNAVAILABLE");
  } catch (const pqxx::in_doubt_error& e) {
    *connection_lost = true;
    LogError(absl::StrCat("storage: ", operation, ": commit in doubt: ", e.what()));
    return absl::UnavailableError("the database connection was lost while committing");
  } catch (const pqxx::transaction_rollback& e) {
    return WithReason(absl::AbortedError("the transaction conflicted with another; retry"),
                      "TRANSACTION_CONFLICT");
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    absl::StatusCode code = CodeForSqlState(state);
    if (code == absl::StatusCode::kUnavailable) *connection_lost = true;
    if (state == "57014") {
      return cancelled_by_us ? absl::CancelledError("the call was cancelled")
                             : WithReason(absl::DeadlineExceededError(
                                              "the deadline expired while the database worked"),
                                          "STATEMENT_TIMEOUT");
    }
    LogWarning(absl::StrCat("storage: ", operation, ": SQLSTATE ", state, ": ", e.what()));
    switch (code) {
      case absl::StatusCode::kAlreadyExists:
        return absl::AlreadyExistsError("the record already exists");
      case absl::StatusCode::kAborted:
        return WithReason(absl::AbortedError("the transaction conflicted with another; retry"),
                          "TRANSACTION_CONFLICT");
      case absl::StatusCode::kUnavailable:
        return WithReason(absl::UnavailableError("the database is unavailable; retry later"),
                          "DATABASE_UNAVAILABLE");
      case absl::StatusCode::kFailedPrecondition:
        return WithReason(absl::FailedPreconditionError(
                              "the database schema does not match this server; run migrations"),
                          "SCHEMA_MISMATCH");
      case absl::StatusCode::kInvalidArgument:
        return absl::InvalidArgumentError("the database rejected a value");
      default:
        return absl::InternalError("internal database error");
    }
  } catch (const std::exception& e) {
    LogError(absl::StrCat("storage: ", operation, ": ", e.what()));
    return absl::InternalError("internal storage error");
  }
}

}  // namespace thesis::storage
