// Download counting on PostgreSQL.
//
// A batch of events is one transaction: it reads the state its events
// depend on (which theses exist, request ids seen, double-click chains
// locked in key order, unique sessions seen) into a fresh
// domain::counter::Engine, records the events there, and writes back what
// changed with one statement per table, each counter row touched once. State
// rows that another transaction created meanwhile make an insert come up
// short; the batch then rolls back and runs again, so that replicas on one
// database count exactly as one would.
#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/domain/thesis_validation.h"
#include "server/storage/pg_session.h"

namespace thesis::storage {
namespace {

using domain::counter::Counts;
using domain::counter::Engine;
using domain::counter::Event;
using domain::counter::EventKind;
using domain::counter::Outcome;

constexpr int kMaxAttempts = 5;
const absl::CivilDay kEpochDay(1970, 1, 1);

int64_t DayNumber(absl::CivilDay day) { return day - kEpochDay; }
absl::CivilDay DayFromNumber(int64_t n) { return kEpochDay + n; }
int64_t MonthNumber(absl::CivilMonth m) { return (m.year() - 1970) * 12 + (m.month() - 1); }
int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }

// Stored outcome codes: the values of thesis.v1.DownloadOutcome.
int OutcomeCode(Outcome o) {
  switch (o) {
    case Outcome::kCounted:
      return 1;
    case Outcome::kDoubleClick:
      return 2;
    case Outcome::kRobot:
      return 3;
    case Outcome::kNotSuccessful:
      return 4;
    case Outcome::kDuplicateRequest:
      return 5;
  }
  return 0;
}

Outcome OutcomeFromCode(int code) {
  switch (code) {
    case 2:
      return Outcome::kDoubleClick;
    case 3:
      return Outcome::kRobot;
    case 4:
      return Outcome::kNotSuccessful;
    case 5:
      return Outcome::kDuplicateRequest;
    default:
      return Outcome::kCounted;
  }
}

// An insert of state rows met rows committed since they were read.
struct BatchConflict {};

Counts ReadCounts(const pqxx::row& row, int first) {
  Counts c;
  c.total_investigations = row[first].as<int64_t>();
  c.unique_investigations = row[first + 1].as<int64_t>();
  c.total_requests = row[first + 2].as<int64_t>();
  c.unique_requests = row[first + 3].as<int64_t>();
  return c;
}

bool IsZero(const Counts& c) { return c == Counts(); }

const char* MetricColumn(Metric m) {
  switch (m) {
    case Metric::kTotalInvestigations:
      return "total_investigations";
    case Metric::kUniqueInvestigations:
      return "unique_investigations";
    case Metric::kTotalRequests:
      return "total_requests";
    case Metric::kUniqueRequests:
      return "unique_requests";
  }
  return "total_requests";
}

// Counter deltas per (thesis, period), as the six arrays of THESIS_PG_ADD_COUNTS.
struct CountArrays {
  std::vector<std::string> ids;
  std::vector<int64_t> periods, ti, ui, tr, ur;

  void Add(const std::string& id, int64_t period, const Counts& c) {
    ids.push_back(id);
    periods.push_back(period);
    ti.push_back(c.total_investigations);
    ui.push_back(c.unique_investigations);
    tr.push_back(c.total_requests);
    ur.push_back(c.unique_requests);
  }
};

class PgDownloadRepository : public DownloadRepository {
 public:
  explicit PgDownloadRepository(PgSession& session) : session_(session) {}

  absl::StatusOr<std::vector<RecordedEvent>> Record(
      const CallContext& ctx, const std::vector<Event>& events,
      const std::shared_ptr<const domain::counter::RobotFilter>& robots) override {
    return session_.Run<std::vector<RecordedEvent>>(
        ctx, "record_downloads",
        [&](pqxx::connection& c) -> absl::StatusOr<std::vector<RecordedEvent>> {
          // Conflicts with concurrent batches (state rows created meanwhile,
          // deadlocks) are rare and short: run the batch again.
          for (int attempt = 1;; ++attempt) {
            try {
              return RecordOnce(c, events, robots);
            } catch (const BatchConflict&) {
            } catch (const pqxx::transaction_rollback&) {
            }
            if (attempt == kMaxAttempts) {
              return WithReason(
                  absl::AbortedError("concurrent download batches kept conflicting; retry"),
                  "CONFLICT");
            }
          }
        });
  }

  absl::StatusOr<DownloadStats> Stats(const CallContext& ctx, const std::string& id,
                                      const DayRange& range) override {
    return session_.Run<DownloadStats>(
        ctx, "download_stats",
        [&](pqxx::connection& c) -> absl::StatusOr<DownloadStats> {
          pqxx::nontransaction txn(c);  // reads: no BEGIN/COMMIT round trips
          DownloadStats stats;
          pqxx::result legacy = txn.exec_prepared(session_.Prepare(sql::kDlLegacyCount), id);
          if (!legacy.empty()) {
            stats.thesis_found = true;
            if (!legacy[0][0].is_null()) stats.legacy_download_count = legacy[0][0].as<int64_t>();
          }
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kDlStatsDays), id, DayNumber(range.first),
                                 DayNumber(range.last))) {
            stats.days.push_back({DayFromNumber(row[0].as<int64_t>()), ReadCounts(row, 1)});
          }
          return stats;
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<std::vector<ThesisCounts>> Totals(const CallContext& ctx,
                                                   const std::vector<std::string>& ids) override {
    return session_.Run<std::vector<ThesisCounts>>(
        ctx, "download_totals",
        [&](pqxx::connection& c) -> absl::StatusOr<std::vector<ThesisCounts>> {
          pqxx::nontransaction txn(c);  // reads: no BEGIN/COMMIT round trips
          std::vector<ThesisCounts> out;
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kDlTotals), TextArray(ids))) {
            ThesisCounts t;
            t.id = row[0].c_str();
            t.thesis_found = row[1].as<bool>();
            if (!row[2].is_null()) t.legacy_download_count = row[2].as<int64_t>();
            t.counts = ReadCounts(row, 3);
            out.push_back(std::move(t));
          }
          return out;
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<std::vector<TopRow>> Top(const CallContext& ctx, const TopQuery& q) override {
    std::vector<std::string> params;
    auto param = [&params](std::string value) {
      params.push_back(std::move(value));
      return absl::StrCat("$", params.size());
    };
    // Whole months are read from the monthly rollup, anything else from the daily one.
    const bool monthly = q.range.first == absl::CivilDay(absl::CivilMonth(q.range.first)) &&
                         absl::CivilMonth(q.range.last + 1) != absl::CivilMonth(q.range.last);
    const int64_t first = DayNumber(q.range.first);
    const int64_t last = monthly ? DayNumber(absl::CivilDay(absl::CivilMonth(q.range.last)))
                                 : DayNumber(q.range.last);
    std::string where =
        absl::StrCat("r.", monthly ? "month" : "day", " BETWEEN date '1970-01-01' + ",
                     param(std::to_string(first)), "::int AND date '1970-01-01' + ",
                     param(std::to_string(last)), "::int");
    AppendFilterSql(q.filter, "t.", param, &where);
    const std::string metric = absl::StrCat("sum(r.", MetricColumn(q.metric), ")");
    const std::string text = absl::StrCat(
        "SELECT r.thesis_id, coalesce(t.sort_title, ''), sum(r.total_investigations)::bigint, "
        "sum(r.unique_investigations)::bigint, sum(r.total_requests)::bigint, "
        "sum(r.unique_requests)::bigint FROM ",
        monthly ? "download_monthly" : "download_daily", " r ", q.has_filter ? "" : "LEFT ",
        "JOIN theses t ON t.id = r.thesis_id WHERE ", where,
        " GROUP BY r.thesis_id, t.sort_title HAVING ", metric, " > 0 ORDER BY ", metric,
        " DESC, r.thesis_id LIMIT ", param(std::to_string(q.limit)), "::int");
    return session_.Run<std::vector<TopRow>>(
        ctx, "top_theses",
        [&](pqxx::connection& c) -> absl::StatusOr<std::vector<TopRow>> {
          pqxx::nontransaction txn(c);  // reads: no BEGIN/COMMIT round trips
          std::vector<const char*> pointers;
          for (const std::string& p : params) pointers.push_back(p.c_str());
          std::vector<TopRow> out;
          for (const pqxx::row& row : txn.exec_prepared(
                   session_.PrepareDynamic(text), pqxx::prepare::make_dynamic_params(pointers))) {
            out.push_back({row[0].c_str(), row[1].c_str(), ReadCounts(row, 2)});
          }
          return out;
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<ReportPage> Report(const CallContext& ctx, const ReportQuery& q) override {
    std::vector<std::string> params;
    auto param = [&params](std::string value) {
      params.push_back(std::move(value));
      return absl::StrCat("$", params.size());
    };
    std::string where = absl::StrCat(
        "r.month BETWEEN (date '1970-01-01' + ", param(std::to_string(MonthNumber(q.first))),
        "::int * interval '1 month')::date AND (date '1970-01-01' + ",
        param(std::to_string(MonthNumber(q.last))), "::int * interval '1 month')::date",
        " AND (r.total_investigations <> 0 OR r.unique_investigations <> 0 OR "
        "r.total_requests <> 0 OR r.unique_requests <> 0)");
    if (q.after) absl::StrAppend(&where, " AND r.thesis_id > ", param(*q.after), "::text");
    std::string join;
    if (q.has_filter) {
      join = " JOIN theses t ON t.id = r.thesis_id";
      AppendFilterSql(q.filter, "t.", param, &where);
    }
    const std::string text =
        absl::StrCat("SELECT DISTINCT r.thesis_id FROM download_monthly r", join, " WHERE ", where,
                     " ORDER BY r.thesis_id LIMIT ", param(std::to_string(q.limit + 1)), "::int");
    return session_.Run<ReportPage>(
        ctx, "item_report",
        [&](pqxx::connection& c) -> absl::StatusOr<ReportPage> {
          pqxx::read_transaction txn(c);
          std::vector<const char*> pointers;
          for (const std::string& p : params) pointers.push_back(p.c_str());
          ReportPage page;
          std::vector<std::string> ids;
          for (const pqxx::row& row : txn.exec_prepared(
                   session_.PrepareDynamic(text), pqxx::prepare::make_dynamic_params(pointers))) {
            ids.push_back(row[0].c_str());
          }
          if (static_cast<int>(ids.size()) > q.limit) {
            ids.resize(q.limit);
            page.more = true;
          }
          const int64_t months = MonthNumber(q.last) - MonthNumber(q.first) + 1;
          absl::flat_hash_map<std::string, size_t> index;
          for (const std::string& id : ids) {
            index[id] = page.items.size();
            ReportItem item;
            item.id = id;
            item.months.resize(months);
            page.items.push_back(std::move(item));
          }
          if (ids.empty()) return page;
          const std::string id_array = TextArray(ids);
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kDlThesisLabels), id_array)) {
            ReportItem& item = page.items[index[row[0].c_str()]];
            item.title = row[1].c_str();
            item.institution = row[2].c_str();
          }
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kDlReportMonths), id_array,
                                 MonthNumber(q.first), MonthNumber(q.last))) {
            ReportItem& item = page.items[index[row[0].c_str()]];
            item.months[row[1].as<int64_t>() - MonthNumber(q.first)] = ReadCounts(row, 2);
          }
          return page;
        },
        /*retry_once=*/true);
  }

 private:
  std::vector<RecordedEvent> RecordOnce(
      pqxx::connection& c, const std::vector<Event>& events,
      const std::shared_ptr<const domain::counter::RobotFilter>& robots) {
    pqxx::work txn(c);
    // Every statement of a batch finds its rows by key. The state tables
    // grow from empty faster than autovacuum analyzes them, and a plan made
    // while one looked small (a sequential scan, cached as the generic plan
    // of the prepared statement) would read the whole table for every batch
    // once it is large: measured, a batch then cost 2-6 times the PostgreSQL
    // CPU. Index lookups are right at any size.
    txn.exec(sql::kDlIndexLookups);
    txn.exec_prepared(session_.Prepare(sql::kDlBatchLock));
    std::vector<RecordedEvent> results(events.size());

    // The keys of every state row the events may depend on (a few more than
    // needed: events that turn out not to count cost a lookup, not a lock
    // held long).
    std::vector<std::string> items, request_ids, chain_keys, unique_keys;
    for (const Event& e : events) {
      items.push_back(e.item);
      if (!e.request_id.empty()) request_ids.push_back(e.request_id);
      if (!domain::counter::IsSuccessful(e.http_status)) continue;
      for (std::string& k : Engine::ChainKeys(e)) chain_keys.push_back(std::move(k));
      for (std::string& k : Engine::UniqueKeys(e)) unique_keys.push_back(std::move(k));
    }
    std::sort(chain_keys.begin(), chain_keys.end());
    chain_keys.erase(std::unique(chain_keys.begin(), chain_keys.end()), chain_keys.end());

    Engine engine(robots);
    absl::flat_hash_set<std::string> known, existing_chains;
    absl::flat_hash_map<std::string, Outcome> seen_requests;
    for (const pqxx::row& row :
         txn.exec_prepared(session_.Prepare(sql::kDlReadState), TextArray(items),
                           TextArray(request_ids), TextArray(chain_keys), TextArray(unique_keys))) {
      switch (row[0].as<int>()) {
        case 1:
          known.insert(row[1].c_str());
          break;
        case 2:
          seen_requests.emplace(row[1].c_str(), OutcomeFromCode(row[2].as<int>()));
          engine.LoadRequestId(row[1].c_str());
          break;
        case 3:
          existing_chains.insert(row[1].c_str());
          engine.LoadChain(row[1].c_str(), {absl::FromUnixMicros(row[2].as<int64_t>()),
                                            DayFromNumber(row[3].as<int64_t>())});
          break;
        case 4:
          engine.LoadUniqueSeen(row[1].c_str());
          break;
      }
    }

    // Decide, in order.
    std::vector<int64_t> ev_time, ev_kind, ev_status, ev_outcome;
    std::vector<std::string> ev_item, ev_user, ev_cookie, ev_session, ev_ip, ev_agent, ev_request;
    std::vector<std::string> new_request_ids;
    std::vector<int64_t> new_request_outcomes;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      RecordedEvent& r = results[i];
      if (!known.contains(e.item)) {
        r.thesis_found = false;
        continue;
      }
      r.outcome = engine.Record(e);
      if (r.outcome == Outcome::kDuplicateRequest) {
        // A retry: counted (or not) once already; not kept again.
        r.first_outcome = seen_requests[e.request_id];
        continue;
      }
      if (!e.request_id.empty()) {
        seen_requests.emplace(e.request_id, r.outcome);
        new_request_ids.push_back(e.request_id);
        new_request_outcomes.push_back(OutcomeCode(r.outcome));
      }
      ev_time.push_back(ToMicros(e.time));
      ev_item.push_back(e.item);
      ev_kind.push_back(e.kind == EventKind::kRequest ? 2 : 1);
      ev_status.push_back(e.http_status);
      ev_user.push_back(e.user_id);
      ev_cookie.push_back(e.user_cookie);
      ev_session.push_back(e.session_cookie);
      ev_ip.push_back(e.ip);
      ev_agent.push_back(e.user_agent);
      ev_request.push_back(e.request_id);
      ev_outcome.push_back(OutcomeCode(r.outcome));
    }

    // What changed: chains (existing ones updated, new ones inserted),
    // unique sessions, request ids, and the counts per day and month.
    std::vector<std::string> upd_keys, new_keys;
    std::vector<int64_t> upd_time, upd_day, new_time, new_day;
    for (const std::string& key : chain_keys) {
      auto it = engine.chains().find(key);
      if (it == engine.chains().end()) continue;
      const bool existing = existing_chains.contains(key);
      (existing ? upd_keys : new_keys).push_back(key);
      (existing ? upd_time : new_time).push_back(ToMicros(it->second.last));
      (existing ? upd_day : new_day).push_back(DayNumber(it->second.attributed));
    }
    std::vector<std::string> uniques = engine.new_unique_keys();
    std::sort(uniques.begin(), uniques.end());
    CountArrays daily, monthly;
    std::map<std::pair<std::string, int64_t>, Counts> by_month;
    for (const auto& [key, counts] : engine.by_day()) {
      if (IsZero(counts)) continue;
      daily.Add(key.first, DayNumber(key.second), counts);
      by_month[{key.first, MonthNumber(absl::CivilMonth(key.second))}] += counts;
    }
    for (const auto& [key, counts] : by_month) {
      if (!IsZero(counts)) monthly.Add(key.first, key.second, counts);
    }
    if (ev_item.empty() && upd_keys.empty() && new_keys.empty() && uniques.empty() &&
        new_request_ids.empty() && daily.ids.empty()) {
      txn.commit();
      return results;
    }
    pqxx::row inserted = txn.exec_prepared1(
        session_.Prepare(sql::kDlWrite), Array(ev_time), TextArray(ev_item), Array(ev_kind),
        Array(ev_status), TextArray(ev_user), TextArray(ev_cookie), TextArray(ev_session),
        TextArray(ev_ip), TextArray(ev_agent), TextArray(ev_request), Array(ev_outcome),
        TextArray(upd_keys), Array(upd_time), Array(upd_day), TextArray(new_keys), Array(new_time),
        Array(new_day), TextArray(uniques), TextArray(new_request_ids), Array(new_request_outcomes),
        TextArray(daily.ids), Array(daily.periods), Array(daily.ti), Array(daily.ui),
        Array(daily.tr), Array(daily.ur), TextArray(monthly.ids), Array(monthly.periods),
        Array(monthly.ti), Array(monthly.ui), Array(monthly.tr), Array(monthly.ur));
    if (inserted[0].as<size_t>() != new_keys.size() || inserted[1].as<size_t>() != uniques.size() ||
        inserted[2].as<size_t>() != new_request_ids.size()) {
      throw BatchConflict{};
    }
    txn.commit();
    return results;
  }

  PgSession& session_;
};

}  // namespace

std::unique_ptr<DownloadRepository> NewPgDownloadRepository(PgSession& session) {
  return std::make_unique<PgDownloadRepository>(session);
}

}  // namespace thesis::storage
