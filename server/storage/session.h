// Storage interfaces. A Session is one unit of database access (for
// PostgreSQL: one connection); it is used by one thread at a time. A Backend
// makes sessions. Everything here speaks absl::Status: database errors are
// mapped to canonical codes inside the implementation.
#ifndef THESIS_SERVER_STORAGE_SESSION_H_
#define THESIS_SERVER_STORAGE_SESSION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/domain/class_tree.h"
#include "server/domain/counter.h"
#include "server/domain/list_query.h"
#include "server/domain/search_index.h"
#include "server/domain/search_query.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::storage {

// Per-call limits: the storage layer stops work past the deadline.
struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
};

// Identifies a mutation for at-most-once execution. When `request_id` is
// set, the first successful answer is stored with the write, in the same
// transaction; a later call with the same id and hash gets that answer
// back, and one with the same id but another hash fails INVALID_ARGUMENT.
struct Idempotency {
  std::string request_id;
  std::string request_hash;  // hex digest of the request, request_id left out
};

struct ListPage {
  std::vector<thesis::v1::Thesis> theses;
  // Position of the last row when there are more rows after it.
  std::optional<domain::SortPosition> next;
};

// One record of an import batch.
struct ImportItem {
  thesis::v1::Thesis thesis;  // validated; output-only fields cleared
  // The record's id: from its name when `id_given`, else the id a new
  // record gets.
  std::string id;
  bool id_given = false;
  std::string import_key;  // domain::ImportKey(thesis)
  // domain::search::IndexRecord(thesis, /*binary=*/true) when the caller
  // computed it already (the import reactor does, while the previous batch
  // is being written; the PostgreSQL backend COPYs the binary forms); a
  // backend that keeps a search index computes it itself otherwise.
  std::optional<domain::search::IndexedRecord> index;
};

enum class ImportOutcome { kCreated, kUpdated, kUnchanged };

// ---- Search (docs/search.md) ---------------------------------------------

enum class SearchOrder {
  kRelevance,   // domain::search::RelevanceScore, best first, ties by id
  kDegreeYear,  // then id, in the same direction
  kDownloads,   // COUNTER Total_Item_Requests of all time, then id
};

enum class FacetField { kDegreeYear, kDegreeLevel, kInstitution, kDiscipline, kClcTop };
inline constexpr FacetField kFacetFields[] = {FacetField::kDegreeYear, FacetField::kDegreeLevel,
                                              FacetField::kInstitution, FacetField::kDiscipline,
                                              FacetField::kClcTop};

struct SearchQuery {
  domain::search::Query query;  // from domain::search::ParseQuery
  domain::ThesisFilter filter;  // ANDed with the query
  SearchOrder order = SearchOrder::kRelevance;
  bool descending = true;  // kRelevance: always best first
  int limit = 20;
  // Rows strictly after this one: key = score, degree year or downloads.
  std::optional<domain::SortPosition> after;
  // Values per facet, most frequent first (ties by value); 0: no facets and
  // no total.
  int facet_limit = 10;
};

struct SearchHit {
  thesis::v1::Thesis thesis;
  int64_t score = 0;      // RelevanceScore
  int64_t downloads = 0;  // with SearchOrder::kDownloads only
};

struct FacetCount {
  std::string value;  // degree year as digits, degree level as its number,
                      // the institution, the discipline, the CLC letter
  int64_t count = 0;
};

struct SearchFacet {
  FacetField field = FacetField::kDegreeYear;
  std::vector<FacetCount> values;  // at most facet_limit
  int64_t distinct_values = 0;     // in the whole match set
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::optional<domain::SortPosition> next;
  // With facet_limit > 0: every match (all pages), and the facets over them
  // in kFacetFields order. A record with no value for a field (degree year
  // 0, no institution, no code) is not counted in that facet; a record with
  // codes in two top-level classes is counted in both.
  int64_t total_size = 0;
  std::vector<SearchFacet> facets;
};

// Changes a stored record in place; an error aborts the update.
using ThesisMutator = std::function<absl::Status(thesis::v1::Thesis&)>;

class ThesisRepository {
 public:
  virtual ~ThesisRepository() = default;

  // `thesis.name` holds the id to use. ALREADY_EXISTS if taken. Sets the
  // output-only fields of the returned record.
  virtual absl::StatusOr<thesis::v1::Thesis> Create(const CallContext& ctx,
                                                    const thesis::v1::Thesis& thesis,
                                                    const std::optional<Idempotency>& idem) = 0;
  virtual absl::StatusOr<thesis::v1::Thesis> Get(const CallContext& ctx, const std::string& id) = 0;
  // All or nothing, in request order; NOT_FOUND names the first missing id.
  virtual absl::StatusOr<std::vector<thesis::v1::Thesis>> BatchGet(
      const CallContext& ctx, const std::vector<std::string>& ids) = 0;
  // Reads the record, applies `mutate`, writes it back, atomically. When
  // `etag` is non-empty and differs from the stored one: ABORTED.
  virtual absl::StatusOr<thesis::v1::Thesis> Update(const CallContext& ctx, const std::string& id,
                                                    const std::string& etag,
                                                    const ThesisMutator& mutate,
                                                    const std::optional<Idempotency>& idem) = 0;
  virtual absl::Status Delete(const CallContext& ctx, const std::string& id,
                              const std::string& etag, const std::optional<Idempotency>& idem) = 0;
  virtual absl::StatusOr<ListPage> List(const CallContext& ctx, const domain::ListQuery& query) = 0;

  // Upserts a batch in one transaction; outcomes in item order. An item
  // matches the stored record with its id when `id_given`, else the one with
  // its import key. The caller keeps identities unique within a batch.
  // Imports are serialized against each other.
  virtual absl::StatusOr<std::vector<ImportOutcome>> Import(
      const CallContext& ctx, const std::vector<ImportItem>& items) = 0;

  // Records matching the query and the filter (domain::search::Matches), a
  // page in the query's order, with facets over all of them.
  virtual absl::StatusOr<SearchPage> Search(const CallContext& ctx, const SearchQuery& query) = 0;
  // Writes the search index of every record whose index is older than
  // domain::search::kSearchIndexVersion (`thesis-server migrate` calls it);
  // returns how many were indexed.
  virtual absl::StatusOr<int64_t> IndexStale(const CallContext& /*ctx*/) { return 0; }
};

// ---- Downloads ---------------------------------------------------------

// The answer for one recorded event.
struct RecordedEvent {
  // False when the thesis does not exist: nothing was recorded.
  bool thesis_found = true;
  domain::counter::Outcome outcome = domain::counter::Outcome::kCounted;
  // For kDuplicateRequest: the outcome the first recording had.
  domain::counter::Outcome first_outcome = domain::counter::Outcome::kCounted;
};

// Days, inclusive, UTC.
struct DayRange {
  absl::CivilDay first = absl::CivilDay(1970, 1, 1);
  absl::CivilDay last = absl::CivilDay(9999, 12, 31);
};

struct DayCounts {
  absl::CivilDay day;
  domain::counter::Counts counts;
};

struct DownloadStats {
  bool thesis_found = false;
  std::optional<int64_t> legacy_download_count;
  // Days in range with any count, oldest first.
  std::vector<DayCounts> days;
};

struct ThesisCounts {
  std::string id;
  bool thesis_found = false;
  std::optional<int64_t> legacy_download_count;
  domain::counter::Counts counts;  // all time
};

enum class Metric { kTotalInvestigations, kUniqueInvestigations, kTotalRequests, kUniqueRequests };
inline int64_t MetricOf(const domain::counter::Counts& counts, Metric metric) {
  switch (metric) {
    case Metric::kTotalInvestigations:
      return counts.total_investigations;
    case Metric::kUniqueInvestigations:
      return counts.unique_investigations;
    case Metric::kTotalRequests:
      return counts.total_requests;
    case Metric::kUniqueRequests:
      return counts.unique_requests;
  }
  return 0;
}

struct TopQuery {
  Metric metric = Metric::kTotalRequests;
  DayRange range;
  domain::ThesisFilter filter;
  bool has_filter = false;  // without one, deleted theses' counts are listed too
  int limit = 20;
};

struct TopRow {
  std::string id;
  std::string title;  // empty for a deleted thesis
  domain::counter::Counts counts;
};

struct ReportQuery {
  absl::CivilMonth first;
  absl::CivilMonth last;
  domain::ThesisFilter filter;
  bool has_filter = false;
  int limit = 100;                   // items
  std::optional<std::string> after;  // thesis id of the last item of the previous page
};

struct ReportItem {
  std::string id;
  std::string title;
  std::string institution;
  std::vector<domain::counter::Counts> months;  // one per month of the query
};

struct ReportPage {
  std::vector<ReportItem> items;  // by id
  bool more = false;
};

class DownloadRepository {
 public:
  virtual ~DownloadRepository() = default;

  // Records the events in order, in one transaction, by the COUNTER rules
  // (domain::counter::Engine) with the state that decides them shared by
  // every session and replica. Events for unknown theses are skipped and
  // answered thesis_found = false; retries (kDuplicateRequest) are not kept
  // again. `robots` decides which agents are robots.
  virtual absl::StatusOr<std::vector<RecordedEvent>> Record(
      const CallContext& ctx, const std::vector<domain::counter::Event>& events,
      const std::shared_ptr<const domain::counter::RobotFilter>& robots) = 0;
  // Counts per day of one thesis. Counts of deleted theses stay.
  virtual absl::StatusOr<DownloadStats> Stats(const CallContext& ctx, const std::string& id,
                                              const DayRange& range) = 0;
  // All-time counts, in request order.
  virtual absl::StatusOr<std::vector<ThesisCounts>> Totals(const CallContext& ctx,
                                                           const std::vector<std::string>& ids) = 0;
  // Theses by `metric` over the range, highest first, ties by id; zero left out.
  virtual absl::StatusOr<std::vector<TopRow>> Top(const CallContext& ctx,
                                                  const TopQuery& query) = 0;
  // Items with any count in the months, by id, with counts per month.
  virtual absl::StatusOr<ReportPage> Report(const CallContext& ctx, const ReportQuery& query) = 0;
};

// ---- Classification ------------------------------------------------------

// Counts of one class (see proto ClassCounts).
struct ClassCounts {
  int64_t direct_theses = 0;
  int64_t subtree_theses = 0;
  int64_t subtree_downloads = 0;  // COUNTER Total_Item_Requests
  int64_t subtree_legacy = 0;     // legacy_download_count
  bool operator==(const ClassCounts& o) const {
    return direct_theses == o.direct_theses && subtree_theses == o.subtree_theses &&
           subtree_downloads == o.subtree_downloads && subtree_legacy == o.subtree_legacy;
  }
};

struct SchemeInfo {
  std::string title;
  std::string version;
  absl::Time update_time;
};

// A scheme's table and the counts of some of its classes, read together.
struct ClassSnapshot {
  std::shared_ptr<const domain::classes::SchemeTree> tree;
  SchemeInfo info;
  // The codes asked for and the pseudo classes (domain::classes::kNone,
  // ...); a class nobody counts in may be missing (all zero).
  absl::flat_hash_map<std::string, ClassCounts> counts;
};
// Which classes' counts a snapshot reads, given the current table.
using CodesOf = std::function<std::vector<std::string>(const domain::classes::SchemeTree&)>;

struct ClassImportResult {
  domain::classes::TableMerge merge;
  int64_t class_count = 0;
  int64_t theses_placed = 0;
};

enum class ClassOrder { kDownloads, kDegreeYear, kTitle };

struct ClassThesesQuery {
  std::string scheme;
  std::string code;  // the tree's spelling
  ClassOrder order = ClassOrder::kDownloads;
  bool descending = true;
  int limit = 50;
  std::optional<domain::SortPosition> after;
};

struct ClassThesis {
  thesis::v1::Thesis thesis;
  int64_t downloads = 0;
};

// The position of `thesis` (stored as `id`, with `downloads`) in the order
// of a ClassThesesQuery.
inline domain::SortPosition ClassThesisPosition(const thesis::v1::Thesis& thesis, int64_t downloads,
                                                absl::string_view id, ClassOrder order) {
  domain::SortPosition pos;
  pos.id = std::string(id);
  if (order == ClassOrder::kDownloads) {
    pos.key = downloads;
  } else if (order == ClassOrder::kDegreeYear) {
    pos.key = int64_t{thesis.degree_year()};
  } else {
    pos.key = domain::SortTitle(thesis);
  }
  return pos;
}

struct ClassThesesPage {
  std::vector<ClassThesis> theses;
  std::optional<domain::SortPosition> next;
};

class ClassRepository {
 public:
  virtual ~ClassRepository() = default;

  // `scheme` is one of domain::classes::Schemes().
  virtual absl::StatusOr<ClassSnapshot> Snapshot(const CallContext& ctx, const std::string& scheme,
                                                 const CodesOf& codes_of) = 0;
  // Merges the rows into the scheme's table (domain::classes::MergeTable),
  // sets its version, then places every thesis again and recounts, all in
  // one transaction.
  virtual absl::StatusOr<ClassImportResult> Import(
      const CallContext& ctx, const std::string& scheme, const std::string& version,
      const std::vector<domain::classes::ImportRow>& rows) = 0;
  // Theses anywhere in the subtree of a class, in the query's order.
  virtual absl::StatusOr<ClassThesesPage> ListTheses(const CallContext& ctx,
                                                     const ClassThesesQuery& query) = 0;
  // Up to `limit` theses placed in a real class of the scheme, by id: only
  // their titles, abstracts, keywords, codes and discipline are set.
  virtual absl::StatusOr<std::vector<thesis::v1::Thesis>> LabelledTheses(const CallContext& ctx,
                                                                         const std::string& scheme,
                                                                         int limit) = 0;
  // Counts of every class of the scheme from scratch, from the stored
  // theses and downloads (what the maintained counts must equal).
  virtual absl::StatusOr<absl::flat_hash_map<std::string, ClassCounts>> Recount(
      const CallContext& ctx, const std::string& scheme) = 0;
  // Places every thesis again where a migration changed a table since the
  // placements were made (`thesis-server migrate` calls it); returns the
  // number of theses placed.
  virtual absl::StatusOr<int64_t> PlaceStale(const CallContext& ctx) = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  virtual ThesisRepository& theses() = 0;
  virtual DownloadRepository& downloads() = 0;
  virtual ClassRepository& classes() = 0;

  // OK when the database answers and its schema is at least
  // `required_schema_version`; UNAVAILABLE or FAILED_PRECONDITION otherwise.
  virtual absl::Status CheckReady(int required_schema_version) = 0;

  // Forgets stored answers of request ids older than `keep`: a retry after
  // that long is treated as a new request. Also drops the download state no
  // event can depend on any more (double-click chains and unique sessions of
  // past days) and makes sure the event partitions of the coming months
  // exist.
  virtual absl::Status PruneRequestLog(absl::Duration /*keep*/) { return absl::OkStatus(); }

  // Called from another thread: abandon the statement this session is
  // running now, if any (the call then fails CANCELLED).
  virtual void CancelCurrentStatement() {}
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Sessions connect lazily and reconnect after a lost connection, so this
  // never fails; a session's calls fail UNAVAILABLE while the database is down.
  virtual std::unique_ptr<Session> NewSession() = 0;
};

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_SESSION_H_
