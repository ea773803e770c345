#include "server/storage/memory_backend.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/time_util.h"
#include "server/common/errors.h"
#include "server/domain/etag.h"
#include "server/domain/import_key.h"
#include "server/domain/search_index.h"
#include "server/domain/thesis_validation.h"
#include "server/storage/class_counting.h"
#include "server/storage/storage_errors.h"

namespace thesis::storage {

using google::protobuf::util::TimeUtil;
using thesis::v1::Thesis;

namespace {

struct StoredAnswer {
  std::string request_hash;
  std::optional<Thesis> thesis;  // empty for Delete
  absl::Time stored;
};

struct Row {
  Thesis thesis;
  int64_t revision = 0;
  std::string import_key;  // empty for records created through the API
};

}  // namespace

// One classification scheme: its table and the tree built from it.
struct MemoryScheme {
  std::vector<domain::classes::ClassRow> rows;
  std::shared_ptr<const domain::classes::SchemeTree> tree;
  SchemeInfo info;
  int64_t generation = 1;
};

struct MemoryBackend::State {
  explicit State(Clock c) : clock(std::move(c)) {
    for (const std::string& scheme : domain::classes::Schemes()) {
      MemoryScheme& s = schemes[scheme];
      s.rows = domain::classes::BuiltinRows(scheme);
      s.tree = *domain::classes::SchemeTree::Build(scheme, s.rows, s.generation);
      s.info.title = scheme == domain::classes::kClc
                         ? "中国图书馆分类法 (Chinese Library Classification)"
                         : "学位授予和人才培养学科目录 (degree discipline catalogue)";
      s.info.version = "builtin";
      s.info.update_time = clock();
    }
  }

  const Clock clock;
  absl::Mutex mu;
  std::map<std::string, Row> rows ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, StoredAnswer> answers ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::string> ids_by_import_key ABSL_GUARDED_BY(mu);
  int64_t last_micros ABSL_GUARDED_BY(mu) = 0;
  // Downloads: the reference engine holds all state; the outcome of each
  // request id for retries.
  domain::counter::Engine downloads ABSL_GUARDED_BY(mu){nullptr};
  absl::flat_hash_map<std::string, domain::counter::Outcome> download_requests ABSL_GUARDED_BY(mu);
  // Classification: placements are computed from the stored records when
  // counts are read, so they cannot go stale.
  std::map<std::string, MemoryScheme> schemes ABSL_GUARDED_BY(mu);

  // Counts of every class of `scheme`, from the stored records.
  absl::flat_hash_map<std::string, ClassCounts> CountClasses(const std::string& scheme)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    absl::flat_hash_map<std::string, ClassCounts> counts;
    const domain::classes::SchemeTree& tree = *schemes.at(scheme).tree;
    for (const auto& [id, row] : rows) {
      CountPlacement(tree.Place(row.thesis), downloads.Total(id).total_requests,
                     row.thesis.legacy_download_count(), &counts);
    }
    return counts;
  }

  // Strictly increasing, like a database sequence would make them.
  int64_t NowMicros() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    last_micros = std::max(last_micros + 1, absl::ToUnixMicros(clock()));
    return last_micros;
  }

  // Returns true and fills `replay` when an earlier answer exists.
  absl::StatusOr<bool> Replay(const std::optional<Idempotency>& idem, StoredAnswer* replay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!idem || idem->request_id.empty()) return false;
    auto it = answers.find(idem->request_id);
    if (it == answers.end()) return false;
    if (it->second.request_hash != idem->request_hash) {
      return RequestIdReused();
    }
    *replay = it->second;
    return true;
  }

  void Remember(const std::optional<Idempotency>& idem, std::optional<Thesis> answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!idem || idem->request_id.empty()) return;
    answers[idem->request_id] = StoredAnswer{idem->request_hash, std::move(answer), clock()};
  }
};

namespace {

void Stamp(Row* row, int64_t micros) {
  row->thesis.mutable_update_time()->CopyFrom(TimeUtil::MicrosecondsToTimestamp(micros));
  row->thesis.set_etag(domain::MakeEtag(row->revision, micros));
}

class MemoryThesisRepository : public ThesisRepository {
 public:
  explicit MemoryThesisRepository(std::shared_ptr<MemoryBackend::State> state)
      : state_(std::move(state)) {}

  absl::StatusOr<Thesis> Create(const CallContext&, const Thesis& thesis,
                                const std::optional<Idempotency>& idem) override {
    absl::MutexLock lock(&state_->mu);
    StoredAnswer replay;
    absl::StatusOr<bool> replayed = state_->Replay(idem, &replay);
    if (!replayed.ok()) return replayed.status();
    if (*replayed) return *replay.thesis;

    const std::string id = thesis.name().substr(sizeof(domain::kThesisCollection) - 1);
    if (state_->rows.count(id)) {
      return ThesisExists(thesis.name());
    }
    Row row;
    row.thesis = thesis;
    row.revision = 1;
    const int64_t now = state_->NowMicros();
    row.thesis.mutable_create_time()->CopyFrom(TimeUtil::MicrosecondsToTimestamp(now));
    Stamp(&row, now);
    state_->Remember(idem, row.thesis);
    Thesis out = row.thesis;
    state_->rows.emplace(id, std::move(row));
    return out;
  }

  absl::StatusOr<Thesis> Get(const CallContext&, const std::string& id) override {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->rows.find(id);
    if (it == state_->rows.end()) return ThesisNotFound(id);
    return it->second.thesis;
  }

  absl::StatusOr<std::vector<Thesis>> BatchGet(const CallContext&,
                                               const std::vector<std::string>& ids) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<Thesis> out;
    out.reserve(ids.size());
    for (const std::string& id : ids) {
      auto it = state_->rows.find(id);
      if (it == state_->rows.end()) return ThesisNotFound(id);
      out.push_back(it->second.thesis);
    }
    return out;
  }

  absl::StatusOr<Thesis> Update(const CallContext&, const std::string& id, const std::string& etag,
                                const ThesisMutator& mutate,
                                const std::optional<Idempotency>& idem) override {
    absl::MutexLock lock(&state_->mu);
    StoredAnswer replay;
    absl::StatusOr<bool> replayed = state_->Replay(idem, &replay);
    if (!replayed.ok()) return replayed.status();
    if (*replayed) return *replay.thesis;

    auto it = state_->rows.find(id);
    if (it == state_->rows.end()) return ThesisNotFound(id);
    Row& row = it->second;
    if (!etag.empty() && etag != row.thesis.etag()) return EtagMismatch();
    Thesis updated = row.thesis;
    absl::Status status = mutate(updated);
    if (!status.ok()) return status;
    row.thesis = std::move(updated);
    ++row.revision;
    Stamp(&row, state_->NowMicros());
    state_->Remember(idem, row.thesis);
    return row.thesis;
  }

  absl::Status Delete(const CallContext&, const std::string& id, const std::string& etag,
                      const std::optional<Idempotency>& idem) override {
    absl::MutexLock lock(&state_->mu);
    StoredAnswer replay;
    absl::StatusOr<bool> replayed = state_->Replay(idem, &replay);
    if (!replayed.ok()) return replayed.status();
    if (*replayed) return absl::OkStatus();

    auto it = state_->rows.find(id);
    if (it == state_->rows.end()) return ThesisNotFound(id);
    if (!etag.empty() && etag != it->second.thesis.etag()) return EtagMismatch();
    if (!it->second.import_key.empty()) state_->ids_by_import_key.erase(it->second.import_key);
    state_->rows.erase(it);
    state_->Remember(idem, std::nullopt);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<ImportOutcome>> Import(const CallContext&,
                                                    const std::vector<ImportItem>& items) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<ImportOutcome> outcomes;
    outcomes.reserve(items.size());
    for (const ImportItem& item : items) {
      Row* existing = nullptr;
      if (item.id_given) {
        auto it = state_->rows.find(item.id);
        if (it != state_->rows.end()) existing = &it->second;
      } else if (auto key = state_->ids_by_import_key.find(item.import_key);
                 key != state_->ids_by_import_key.end()) {
        existing = &state_->rows.at(key->second);
      }
      const int64_t now = state_->NowMicros();
      if (existing != nullptr) {
        if (domain::SameContent(existing->thesis, item.thesis)) {
          outcomes.push_back(ImportOutcome::kUnchanged);
          continue;
        }
        Thesis updated = item.thesis;
        updated.set_name(existing->thesis.name());
        *updated.mutable_create_time() = existing->thesis.create_time();
        existing->thesis = std::move(updated);
        ++existing->revision;
        Stamp(existing, now);
        outcomes.push_back(ImportOutcome::kUpdated);
        continue;
      }
      Row row;
      row.thesis = item.thesis;
      row.thesis.set_name(domain::ThesisName(item.id));
      row.revision = 1;
      row.thesis.mutable_create_time()->CopyFrom(TimeUtil::MicrosecondsToTimestamp(now));
      Stamp(&row, now);
      // A key another record holds stays with that record.
      if (state_->ids_by_import_key.emplace(item.import_key, item.id).second) {
        row.import_key = item.import_key;
      }
      state_->rows[item.id] = std::move(row);
      outcomes.push_back(ImportOutcome::kCreated);
    }
    return outcomes;
  }

  absl::StatusOr<ListPage> List(const CallContext&, const domain::ListQuery& query) override {
    std::vector<std::pair<domain::SortPosition, const Thesis*>> matches;
    absl::MutexLock lock(&state_->mu);
    for (const auto& [id, row] : state_->rows) {
      if (!domain::MatchesFilter(query.filter, row.thesis)) continue;
      domain::SortPosition pos = domain::PositionOf(row.thesis, id, query.order_key);
      if (query.after) {
        const int cmp = domain::ComparePositions(pos, *query.after);
        if (query.descending ? cmp >= 0 : cmp <= 0) continue;
      }
      matches.emplace_back(std::move(pos), &row.thesis);
    }
    auto less = [&](const auto& a, const auto& b) {
      const int cmp = domain::ComparePositions(a.first, b.first);
      return query.descending ? cmp > 0 : cmp < 0;
    };
    const size_t want = static_cast<size_t>(query.page_size);
    const size_t keep = std::min(matches.size(), want + 1);
    std::partial_sort(matches.begin(), matches.begin() + keep, matches.end(), less);
    ListPage page;
    for (size_t i = 0; i < std::min(keep, want); ++i) page.theses.push_back(*matches[i].second);
    if (matches.size() > want) page.next = matches[want - 1].first;
    return page;
  }

  absl::StatusOr<SearchPage> Search(const CallContext&, const SearchQuery& q) override {
    if (absl::StatusOr<domain::search::CompiledQuery> compiled =
            domain::search::CompileTsQuery(q.query);
        !compiled.ok()) {
      return compiled.status();
    }
    if (q.after && !std::holds_alternative<int64_t>(q.after->key)) {
      return absl::InvalidArgumentError("page_token: not a search token");
    }
    const bool relevance = q.order == SearchOrder::kRelevance;
    const bool descending = relevance || q.descending;
    struct Match {
      int64_t key;
      int64_t score;
      const std::string* id;
      const Thesis* thesis;
    };
    // (key, id) in the page order: key descending for relevance with the id
    // ascending; otherwise both in the query's direction.
    auto before = [&](int64_t ka, const std::string& ia, int64_t kb, const std::string& ib) {
      if (ka != kb) return descending ? ka > kb : ka < kb;
      return relevance || !descending ? ia < ib : ia > ib;
    };
    std::vector<Match> matches;
    SearchPage page;
    std::map<std::string, int64_t> facet_counts[std::size(kFacetFields)];
    absl::MutexLock lock(&state_->mu);
    for (const auto& [id, row] : state_->rows) {
      if (!domain::MatchesFilter(q.filter, row.thesis) ||
          !domain::search::Matches(q.query, row.thesis)) {
        continue;
      }
      const Thesis& t = row.thesis;
      if (q.facet_limit > 0) {
        ++page.total_size;
        if (t.degree_year() != 0) ++facet_counts[0][std::to_string(t.degree_year())];
        if (t.degree_level() != 0) ++facet_counts[1][std::to_string(t.degree_level())];
        if (!t.institution().empty()) ++facet_counts[2][t.institution()];
        if (!t.discipline().empty()) ++facet_counts[3][t.discipline()];
        std::set<std::string> tops;
        for (const std::string& code : domain::search::NormalizedCodes(t)) {
          tops.insert(code.substr(0, 1));
        }
        for (const std::string& top : tops) ++facet_counts[4][top];
      }
      const int64_t score = domain::search::RelevanceScore(q.query, t);
      const int64_t key = q.order == SearchOrder::kDegreeYear ? t.degree_year()
                          : q.order == SearchOrder::kDownloads
                              ? state_->downloads.Total(id).total_requests
                              : score;
      if (q.after && !before(std::get<int64_t>(q.after->key), q.after->id, key, id)) {
        continue;
      }
      matches.push_back({key, score, &id, &t});
    }
    const size_t want = static_cast<size_t>(q.limit);
    const size_t keep = std::min(matches.size(), want + 1);
    std::partial_sort(
        matches.begin(), matches.begin() + keep, matches.end(),
        [&](const Match& a, const Match& b) { return before(a.key, *a.id, b.key, *b.id); });
    for (size_t i = 0; i < std::min(keep, want); ++i) {
      SearchHit hit{*matches[i].thesis, matches[i].score, 0};
      if (q.order == SearchOrder::kDownloads) hit.downloads = matches[i].key;
      page.hits.push_back(std::move(hit));
    }
    if (matches.size() > want)
      page.next = domain::SortPosition{matches[want - 1].key, *matches[want - 1].id};
    if (q.facet_limit > 0) {
      for (size_t f = 0; f < std::size(kFacetFields); ++f) {
        SearchFacet facet{kFacetFields[f], {}, static_cast<int64_t>(facet_counts[f].size())};
        for (const auto& [value, count] : facet_counts[f]) facet.values.push_back({value, count});
        std::stable_sort(
            facet.values.begin(), facet.values.end(),
            [](const FacetCount& a, const FacetCount& b) { return a.count > b.count; });
        if (facet.values.size() > static_cast<size_t>(q.facet_limit)) {
          facet.values.resize(static_cast<size_t>(q.facet_limit));
        }
        page.facets.push_back(std::move(facet));
      }
    }
    return page;
  }

 private:
  std::shared_ptr<MemoryBackend::State> state_;
};

class MemoryDownloadRepository : public DownloadRepository {
 public:
  explicit MemoryDownloadRepository(std::shared_ptr<MemoryBackend::State> state)
      : state_(std::move(state)) {}

  absl::StatusOr<std::vector<RecordedEvent>> Record(
      const CallContext&, const std::vector<domain::counter::Event>& events,
      const std::shared_ptr<const domain::counter::RobotFilter>& robots) override {
    absl::MutexLock lock(&state_->mu);
    state_->downloads.set_robots(robots);
    std::vector<RecordedEvent> results(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const domain::counter::Event& e = events[i];
      if (state_->rows.count(e.item) == 0) {
        results[i].thesis_found = false;
        continue;
      }
      results[i].outcome = state_->downloads.Record(e);
      if (results[i].outcome == domain::counter::Outcome::kDuplicateRequest) {
        results[i].first_outcome = state_->download_requests[e.request_id];
        continue;
      }
      if (!e.request_id.empty()) state_->download_requests[e.request_id] = results[i].outcome;
    }
    return results;
  }

  absl::StatusOr<DownloadStats> Stats(const CallContext&, const std::string& id,
                                      const DayRange& range) override {
    absl::MutexLock lock(&state_->mu);
    DownloadStats stats;
    if (auto it = state_->rows.find(id); it != state_->rows.end()) {
      stats.thesis_found = true;
      if (it->second.thesis.has_legacy_download_count()) {
        stats.legacy_download_count = it->second.thesis.legacy_download_count();
      }
    }
    const auto& by_day = state_->downloads.by_day();
    for (auto it = by_day.lower_bound({id, range.first});
         it != by_day.end() && it->first.first == id && it->first.second <= range.last; ++it) {
      stats.days.push_back({it->first.second, it->second});
    }
    return stats;
  }

  absl::StatusOr<std::vector<ThesisCounts>> Totals(const CallContext&,
                                                   const std::vector<std::string>& ids) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<ThesisCounts> out;
    for (const std::string& id : ids) {
      ThesisCounts t;
      t.id = id;
      if (auto it = state_->rows.find(id); it != state_->rows.end()) {
        t.thesis_found = true;
        if (it->second.thesis.has_legacy_download_count()) {
          t.legacy_download_count = it->second.thesis.legacy_download_count();
        }
      }
      t.counts = state_->downloads.Total(id);
      out.push_back(std::move(t));
    }
    return out;
  }

  absl::StatusOr<std::vector<TopRow>> Top(const CallContext&, const TopQuery& q) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<TopRow> rows;
    ForEachItem(q.range.first, q.range.last, q.filter, q.has_filter,
                [&](const std::string& id, const Thesis* t, absl::CivilDay,
                    const domain::counter::Counts& c) {
                  if (rows.empty() || rows.back().id != id) {
                    rows.push_back({id, t ? domain::SortTitle(*t) : "", {}});
                  }
                  rows.back().counts += c;
                });
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const TopRow& r) { return MetricOf(r.counts, q.metric) <= 0; }),
               rows.end());
    std::sort(rows.begin(), rows.end(), [&](const TopRow& a, const TopRow& b) {
      const int64_t va = MetricOf(a.counts, q.metric), vb = MetricOf(b.counts, q.metric);
      return va != vb ? va > vb : a.id < b.id;
    });
    if (rows.size() > static_cast<size_t>(q.limit)) rows.resize(q.limit);
    return rows;
  }

  absl::StatusOr<ReportPage> Report(const CallContext&, const ReportQuery& q) override {
    absl::MutexLock lock(&state_->mu);
    ReportPage page;
    const int months = static_cast<int>(q.last - q.first) + 1;
    ForEachItem(absl::CivilDay(q.first), absl::CivilDay(q.last + 1) - 1, q.filter, q.has_filter,
                [&](const std::string& id, const Thesis* t, absl::CivilDay day,
                    const domain::counter::Counts& c) {
                  if (q.after && id <= *q.after) return;
                  if (page.items.empty() || page.items.back().id != id) {
                    ReportItem item;
                    item.id = id;
                    if (t != nullptr) {
                      item.title = domain::SortTitle(*t);
                      item.institution = t->institution();
                    }
                    item.months.resize(months);
                    page.items.push_back(std::move(item));
                  }
                  page.items.back().months[absl::CivilMonth(day) - q.first] += c;
                });
    page.items.erase(std::remove_if(page.items.begin(), page.items.end(),
                                    [](const ReportItem& item) {
                                      return std::all_of(item.months.begin(), item.months.end(),
                                                         [](const domain::counter::Counts& c) {
                                                           return c == domain::counter::Counts();
                                                         });
                                    }),
                     page.items.end());
    if (page.items.size() > static_cast<size_t>(q.limit)) {
      page.items.resize(q.limit);
      page.more = true;
    }
    return page;
  }

 private:
  // Calls `f(id, thesis or null, day, counts)` for each day in range, by id then day.
  template <typename F>
  void ForEachItem(absl::CivilDay first, absl::CivilDay last, const domain::ThesisFilter& filter,
                   bool has_filter, F&& f) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    for (const auto& [key, counts] : state_->downloads.by_day()) {
      if (key.second < first || key.second > last) continue;
      auto row = state_->rows.find(key.first);
      const Thesis* t = row == state_->rows.end() ? nullptr : &row->second.thesis;
      if (has_filter && (t == nullptr || !domain::MatchesFilter(filter, *t))) continue;
      f(key.first, t, key.second, counts);
    }
  }

  std::shared_ptr<MemoryBackend::State> state_;
};

class MemoryClassRepository : public ClassRepository {
 public:
  explicit MemoryClassRepository(std::shared_ptr<MemoryBackend::State> state)
      : state_(std::move(state)) {}

  absl::StatusOr<ClassSnapshot> Snapshot(const CallContext&, const std::string& scheme,
                                         const CodesOf& codes_of) override {
    absl::MutexLock lock(&state_->mu);
    const MemoryScheme& s = state_->schemes.at(scheme);
    ClassSnapshot snapshot;
    snapshot.tree = s.tree;
    snapshot.info = s.info;
    absl::flat_hash_map<std::string, ClassCounts> all = state_->CountClasses(scheme);
    std::vector<std::string> codes = codes_of(*s.tree);
    codes.insert(codes.end(), {domain::classes::kUnresolved, domain::classes::kNone,
                               domain::classes::kClassified});
    for (const std::string& code : codes) {
      if (auto it = all.find(code); it != all.end()) snapshot.counts[code] = it->second;
    }
    return snapshot;
  }

  absl::StatusOr<ClassImportResult> Import(
      const CallContext&, const std::string& scheme, const std::string& version,
      const std::vector<domain::classes::ImportRow>& rows) override {
    absl::MutexLock lock(&state_->mu);
    MemoryScheme& s = state_->schemes.at(scheme);
    ClassImportResult result;
    result.merge = domain::classes::MergeTable(scheme, s.rows, rows);
    auto tree = domain::classes::SchemeTree::Build(scheme, result.merge.rows, s.generation + 1);
    if (!tree.ok())
      return absl::InternalError(absl::StrCat("merged table: ", tree.status().message()));
    s.rows = result.merge.rows;
    s.tree = *tree;
    ++s.generation;
    s.info.version = version;
    s.info.update_time = state_->clock();
    result.class_count = static_cast<int64_t>(s.rows.size());
    result.theses_placed = static_cast<int64_t>(state_->rows.size());
    result.merge.rows.clear();
    return result;
  }

  absl::StatusOr<ClassThesesPage> ListTheses(const CallContext&,
                                             const ClassThesesQuery& q) override {
    absl::MutexLock lock(&state_->mu);
    const domain::classes::SchemeTree& tree = *state_->schemes.at(q.scheme).tree;
    std::vector<std::pair<domain::SortPosition, ClassThesis>> matches;
    for (const auto& [id, row] : state_->rows) {
      const domain::classes::Placement p = tree.Place(row.thesis);
      if (std::none_of(p.classes.begin(), p.classes.end(),
                       [&](const auto& c) { return c.first == q.code; })) {
        continue;
      }
      ClassThesis hit{row.thesis, state_->downloads.Total(id).total_requests};
      domain::SortPosition pos = ClassThesisPosition(hit.thesis, hit.downloads, id, q.order);
      if (q.after) {
        const int cmp = domain::ComparePositions(pos, *q.after);
        if (q.descending ? cmp >= 0 : cmp <= 0) continue;
      }
      matches.emplace_back(std::move(pos), std::move(hit));
    }
    std::sort(matches.begin(), matches.end(), [&](const auto& a, const auto& b) {
      const int cmp = domain::ComparePositions(a.first, b.first);
      return q.descending ? cmp > 0 : cmp < 0;
    });
    ClassThesesPage page;
    const size_t want = static_cast<size_t>(q.limit);
    for (size_t i = 0; i < matches.size() && i < want; ++i) {
      page.theses.push_back(std::move(matches[i].second));
    }
    if (matches.size() > want) page.next = matches[want - 1].first;
    return page;
  }

  absl::StatusOr<std::vector<Thesis>> LabelledTheses(const CallContext&, const std::string& scheme,
                                                     int limit) override {
    absl::MutexLock lock(&state_->mu);
    const domain::classes::SchemeTree& tree = *state_->schemes.at(scheme).tree;
    std::vector<Thesis> out;
    for (const auto& [id, row] : state_->rows) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (tree.DirectClasses(row.thesis).empty()) continue;
      out.push_back(row.thesis);
    }
    return out;
  }

  absl::StatusOr<absl::flat_hash_map<std::string, ClassCounts>> Recount(
      const CallContext&, const std::string& scheme) override {
    absl::MutexLock lock(&state_->mu);
    return state_->CountClasses(scheme);
  }

  absl::StatusOr<int64_t> PlaceStale(const CallContext&) override { return 0; }

 private:
  std::shared_ptr<MemoryBackend::State> state_;
};

class MemorySession : public Session {
 public:
  explicit MemorySession(std::shared_ptr<MemoryBackend::State> state)
      : state_(state), theses_(state), downloads_(state), classes_(std::move(state)) {}
  ThesisRepository& theses() override { return theses_; }
  DownloadRepository& downloads() override { return downloads_; }
  ClassRepository& classes() override { return classes_; }
  absl::Status CheckReady(int) override { return absl::OkStatus(); }
  absl::Status PruneRequestLog(absl::Duration keep) override {
    absl::MutexLock lock(&state_->mu);
    const absl::Time cutoff = state_->clock() - keep;
    absl::erase_if(state_->answers,
                   [&](const auto& entry) { return entry.second.stored < cutoff; });
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<MemoryBackend::State> state_;
  MemoryThesisRepository theses_;
  MemoryDownloadRepository downloads_;
  MemoryClassRepository classes_;
};

}  // namespace

MemoryBackend::MemoryBackend(Clock clock) : state_(std::make_shared<State>(std::move(clock))) {}
MemoryBackend::~MemoryBackend() = default;

std::unique_ptr<Session> MemoryBackend::NewSession() {
  return std::make_unique<MemorySession>(state_);
}

}  // namespace thesis::storage
