// Internal to the PostgreSQL backend: one session (one connection) and the
// helpers its repositories share. libpqxx appears only under server/storage.
#ifndef THESIS_SERVER_STORAGE_PG_SESSION_H_
#define THESIS_SERVER_STORAGE_PG_SESSION_H_

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/errors.h"
#include "server/common/log.h"
#include "server/storage/pg_backend.h"
#include "server/storage/pg_errors.h"
#include "server/storage/pg_sql.h"
#include "server/storage/session.h"
#include "server/storage/storage_errors.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::storage {

using thesis::v1::Thesis;

// What a stored idempotent answer says.
struct Replay {
  bool found = false;
  std::optional<std::string> response;  // serialized Thesis; empty optional for Delete

  Thesis EarlierAnswer() const {
    Thesis earlier;
    earlier.ParseFromString(response.value_or(""));
    return earlier;
  }
};

class PgSession : public Session {
 public:
  explicit PgSession(const PgOptions& options);
  ~PgSession() override;

  ThesisRepository& theses() override { return *theses_; }
  DownloadRepository& downloads() override { return *downloads_; }
  ClassRepository& classes() override { return *classes_; }
  ClassTreeCache& class_trees() { return *options_.class_trees; }

  absl::Status CheckReady(int required_schema_version) override {
    CallContext ctx;
    ctx.deadline = absl::Now() + absl::Seconds(5);
    absl::StatusOr<int> version =
        Run<int>(ctx, "schema_version", [&](pqxx::connection& c) -> absl::StatusOr<int> {
          pqxx::nontransaction n(c);
          return n.exec_prepared1(Prepare(sql::kSchemaVersion))[0].as<int>();
        });
    if (!version.ok()) return version.status();
    if (*version < required_schema_version) {
      return absl::FailedPreconditionError(
          absl::StrCat("database schema version ", *version, " is older than the ",
                       required_schema_version, " this binary needs; run thesis-server migrate"));
    }
    return absl::OkStatus();
  }

  absl::Status PruneRequestLog(absl::Duration keep) override {
    CallContext ctx;
    ctx.deadline = absl::Now() + absl::Seconds(60);
    return Run<bool>(ctx, "prune_request_log",
                     [&](pqxx::connection& c) -> absl::StatusOr<bool> {
                       pqxx::nontransaction n(c);
                       n.exec_prepared(Prepare(sql::kPruneRequestLog), absl::ToInt64Seconds(keep));
                       n.exec_prepared(Prepare(sql::kDlPruneRequests), absl::ToInt64Seconds(keep));
                       n.exec_prepared(Prepare(sql::kDlPruneChains));
                       n.exec_prepared(Prepare(sql::kDlPruneUniques));
                       n.exec_prepared(Prepare(sql::kDlEnsurePartitions));
                       return true;
                     })
        .status();
  }

  void CancelCurrentStatement() override {
    absl::MutexLock lock(&cancel_mu_);
    if (conn_ != nullptr && busy_) {
      cancel_requested_ = true;
      try {
        conn_->cancel_query();
      } catch (const std::exception& e) {
        LogWarning(absl::StrCat("storage: cancel failed: ", e.what()));
      }
    }
  }

  // Runs `body` on a live connection with the statement timeout set from
  // the deadline, and maps every libpqxx error. Reads (`retry_once`) are
  // repeated once on a fresh connection when the old one turns out dead,
  // which is what happens to every pooled connection after a database
  // restart.
  template <typename T, typename Body>
  absl::StatusOr<T> Run(const CallContext& ctx, absl::string_view operation, Body&& body,
                        bool retry_once = false) {
    for (int attempt = 0;; ++attempt) {
      absl::Status ready = Connect();
      if (!ready.ok()) return ready;
      bool lost = false;
      absl::Status status;
      try {
        absl::Status timeout = ApplyDeadline(ctx);
        if (!timeout.ok()) return timeout;
        SetBusy(true);
        absl::StatusOr<T> result = body(*conn_);
        SetBusy(false);
        return result;
      } catch (...) {
        const bool cancelled = SetBusy(false);
        status = MapCurrentException(operation, cancelled, &lost);
      }
      if (lost) Disconnect();
      if (!(lost && retry_once && attempt == 0)) return status;
    }
  }

  // Prepares `s` on this connection the first time it is used; returns its name.
  const char* Prepare(const sql::Statement& s) {
    if (prepared_.insert(s.name).second) conn_->prepare(s.name, s.text);
    return s.name;
  }
  std::string PrepareDynamic(const std::string& text) {
    std::string name = absl::StrCat("dyn_", absl::Hash<std::string>()(text));
    if (prepared_.insert(name).second) conn_->prepare(name, text);
    return name;
  }

  // Within a write transaction: the earlier answer for this request id, if
  // any; otherwise claims the id for this transaction.
  absl::StatusOr<Replay> ClaimRequest(pqxx::work& txn, const std::optional<Idempotency>& idem) {
    Replay replay;
    if (!idem || idem->request_id.empty()) return replay;
    if (!txn.exec_prepared(Prepare(sql::kClaimRequest), idem->request_id, idem->request_hash)
             .empty()) {
      return replay;
    }
    pqxx::row row = txn.exec_prepared1(Prepare(sql::kGetRequest), idem->request_id);
    if (row[0].as<std::string>() != idem->request_hash) {
      return RequestIdReused();
    }
    replay.found = true;
    if (!row[1].is_null()) replay.response = pqxx::binarystring(row[1]).str();
    return replay;
  }

  void StoreResponse(pqxx::work& txn, const std::optional<Idempotency>& idem,
                     const Thesis* answer) {
    if (!idem || idem->request_id.empty() || answer == nullptr) return;
    txn.exec_prepared(Prepare(sql::kStoreResponse), idem->request_id,
                      pqxx::binarystring(answer->SerializeAsString()));
  }

 private:
  absl::Status Connect() {
    if (conn_ != nullptr && conn_->is_open()) return absl::OkStatus();
    Disconnect();
    try {
      auto conn = std::make_unique<pqxx::connection>(options_.database_url);
      {
        pqxx::nontransaction n(*conn);
        current_timeout_ms_ = absl::ToInt64Milliseconds(options_.default_statement_timeout);
        n.exec(absl::StrCat("SET statement_timeout = ", current_timeout_ms_));
        n.exec(absl::StrCat("SET application_name = ", n.quote(options_.application_name)));
      }
      absl::MutexLock lock(&cancel_mu_);
      conn_ = std::move(conn);
    } catch (...) {
      bool lost = false;
      absl::Status status = MapCurrentException("connect", false, &lost);
      return WithReason(absl::UnavailableError("the database is unavailable; retry later"),
                        "DATABASE_UNAVAILABLE");
    }
    return absl::OkStatus();
  }

  void Disconnect() {
    std::unique_ptr<pqxx::connection> old;
    {
      absl::MutexLock lock(&cancel_mu_);
      old = std::move(conn_);
    }
    prepared_.clear();
  }

  // Keeps statement_timeout at most the time left before the deadline, and
  // not far below it, so that most calls need no extra round trip.
  absl::Status ApplyDeadline(const CallContext& ctx) {
    int64_t wanted = absl::ToInt64Milliseconds(options_.default_statement_timeout);
    if (ctx.deadline != absl::InfiniteFuture()) {
      const int64_t left = absl::ToInt64Milliseconds(ctx.deadline - absl::Now());
      if (left <= 0) {
        return WithReason(absl::DeadlineExceededError("the deadline expired before the call ran"),
                          "DEADLINE_EXPIRED");
      }
      wanted = std::min(wanted, left);
    }
    if (current_timeout_ms_ > wanted || current_timeout_ms_ < wanted / 2) {
      pqxx::nontransaction n(*conn_);
      n.exec(absl::StrCat("SET statement_timeout = ", wanted));
      current_timeout_ms_ = wanted;
    }
    return absl::OkStatus();
  }

  // Returns whether a cancel was requested while busy.
  bool SetBusy(bool busy) {
    absl::MutexLock lock(&cancel_mu_);
    busy_ = busy;
    const bool cancelled = cancel_requested_;
    if (!busy) cancel_requested_ = false;
    return cancelled;
  }

  const PgOptions& options_;
  std::unique_ptr<ThesisRepository> theses_;
  std::unique_ptr<DownloadRepository> downloads_;
  std::unique_ptr<ClassRepository> classes_;
  absl::Mutex cancel_mu_;
  std::unique_ptr<pqxx::connection> conn_;  // written under cancel_mu_
  bool busy_ ABSL_GUARDED_BY(cancel_mu_) = false;
  bool cancel_requested_ ABSL_GUARDED_BY(cancel_mu_) = false;
  absl::flat_hash_set<std::string> prepared_;
  int64_t current_timeout_ms_ = 0;
};

// The repositories of a session (pg_backend.cc, pg_downloads.cc).
std::unique_ptr<ThesisRepository> NewPgThesisRepository(PgSession& session);
std::unique_ptr<DownloadRepository> NewPgDownloadRepository(PgSession& session);
std::unique_ptr<ClassRepository> NewPgClassRepository(PgSession& session);

// A row in THESIS_PG_COLUMNS order; a text[] field.
Thesis ReadThesisRow(const pqxx::row& row);
void ReadTextArrayField(const pqxx::field& field,
                        google::protobuf::RepeatedPtrField<std::string>* out);

// JSON text of a string, appended; the search columns of a record as the
// members of a JSON object (`"search_doc":...,"search_version":N`, no
// braces), as THESIS_PG_JSON_RECORD and kIndexStaleWrite read them.
void AppendJsonString(std::string* out, absl::string_view s);
void AppendSearchColumns(std::string* out, const Thesis& t);
void AppendSearchColumns(std::string* out, const domain::search::IndexedRecord& index);

// SearchTheses and the search-index backfill (pg_search.cc).
absl::StatusOr<SearchPage> PgSearch(PgSession& session, const CallContext& ctx,
                                    const SearchQuery& query);
absl::StatusOr<int64_t> PgIndexStale(PgSession& session, const CallContext& ctx);

// Within a thesis write: places the theses (nullptr: deleted) in the
// classes of every scheme and moves their counts (class_place). Call it
// after the theses rows are written, last before the commit.
absl::Status PlaceTheses(PgSession& session, pqxx::work& txn,
                         const std::vector<std::pair<std::string, const Thesis*>>& theses);
// Whether a change from `before` to `after` can move a thesis between
// classes or change the counts there.
bool PlacementInputsDiffer(const Thesis& before, const Thesis& after);

// A text[] literal: {"a","b"} with backslash escapes.
template <typename Strings>
std::string TextArray(const Strings& values) {
  std::string out = "{";
  bool first = true;
  for (const auto& value : values) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    for (char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

// A numeric or boolean array literal: {1,2,3}.
template <typename T>
std::string Array(const std::vector<T>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    if constexpr (std::is_same_v<T, bool>) {
      out.push_back(values[i] ? 't' : 'f');
    } else {
      absl::StrAppend(&out, values[i]);
    }
  }
  out.push_back('}');
  return out;
}

// Appends " AND ..." conditions of `f` on the theses table (column prefix
// `t`, e.g. "t.") to `where`; `param` adds a parameter and returns its $n.
template <typename Param>
void AppendFilterSql(const domain::ThesisFilter& f, absl::string_view t, Param&& param,
                     std::string* where) {
  if (f.institution) absl::StrAppend(where, " AND ", t, "institution = ", param(*f.institution));
  if (f.discipline) absl::StrAppend(where, " AND ", t, "discipline = ", param(*f.discipline));
  if (f.degree_level) {
    absl::StrAppend(where, " AND ", t, "degree_level = ", param(std::to_string(*f.degree_level)),
                    "::smallint");
  }
  if (f.year_min) {
    absl::StrAppend(where, " AND ", t, "degree_year >= ", param(std::to_string(*f.year_min)),
                    "::int");
  }
  if (f.year_max) {
    absl::StrAppend(where, " AND ", t, "degree_year <= ", param(std::to_string(*f.year_max)),
                    "::int");
  }
  if (f.author)
    absl::StrAppend(where, " AND ", t, "authors @> ARRAY[", param(*f.author), "::text]");
  if (f.advisor)
    absl::StrAppend(where, " AND ", t, "advisors @> ARRAY[", param(*f.advisor), "::text]");
  if (f.class_code) {
    const std::string p = param(*f.class_code);
    absl::StrAppend(where, " AND EXISTS (SELECT 1 FROM unnest(", t,
                    "classification_codes) AS c WHERE ",
                    f.class_code_is_prefix ? absl::StrCat("starts_with(c, ", p, "::text)")
                                           : absl::StrCat("c = ", p, "::text"),
                    ")");
  }
}

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_PG_SESSION_H_
