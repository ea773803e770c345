// Classification on PostgreSQL: tables, placements and rolled-up counts.
// The locking rules that keep the counts exact are described in
// migrations/0005_classification.up.sql.
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/domain/class_tree.h"
#include "server/storage/class_counting.h"
#include "server/storage/pg_session.h"

namespace thesis::storage {
namespace {

using domain::classes::ClassRow;
using domain::classes::SchemeTree;
using Tree = std::shared_ptr<const SchemeTree>;

constexpr size_t kPlacementChunk = 50000;
constexpr int kMaxPlaceAttempts = 3;

absl::StatusOr<Tree> LoadTree(PgSession& session, pqxx::transaction_base& txn,
                              const std::string& scheme) {
  pqxx::result r = txn.exec_prepared(session.Prepare(sql::kClassLoadTree), scheme);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("no scheme ", scheme));
  std::vector<ClassRow> rows;
  rows.reserve(r.size());
  for (const pqxx::row& row : r) {
    if (row[1].is_null()) continue;
    rows.push_back({row[1].c_str(), row[2].c_str(), row[3].c_str()});
  }
  absl::StatusOr<Tree> tree = SchemeTree::Build(scheme, rows, r[0][0].as<int64_t>());
  if (!tree.ok()) {
    return absl::InternalError(
        absl::StrCat("stored ", scheme, " table: ", tree.status().message()));
  }
  session.class_trees().Put(*tree);
  return tree;
}

absl::StatusOr<Tree> CurrentTree(PgSession& session, pqxx::transaction_base& txn,
                                 const std::string& scheme) {
  if (Tree cached = session.class_trees().Get(scheme)) return cached;
  return LoadTree(session, txn, scheme);
}

// Rows for thesis_classes, as parameter arrays.
struct PlacementRows {
  std::vector<std::string> scheme, code, thesis;
  std::vector<bool> direct;
  std::vector<int64_t> legacy;

  void Add(const SchemeTree& tree, const std::string& id, const Thesis& t) {
    for (const auto& [c, d] : tree.Place(t).classes) {
      scheme.push_back(tree.scheme());
      code.push_back(c);
      thesis.push_back(id);
      direct.push_back(d);
      legacy.push_back(t.legacy_download_count());
    }
  }
  size_t size() const { return code.size(); }
  void Clear() { *this = PlacementRows(); }
};

// What placement reads of a thesis (kClassPlacementInputs).
Thesis PlacementInput(const pqxx::row& row) {
  Thesis t;
  ReadTextArrayField(row[1], t.mutable_classification_codes());
  t.set_discipline(row[2].c_str());
  if (!row[3].is_null()) t.set_legacy_download_count(row[3].as<int64_t>());
  return t;
}

// Places every thesis in `tree`'s scheme again; the caller holds the class
// lock exclusively. Returns the number of theses.
int64_t PlaceAll(PgSession& session, pqxx::work& txn, const SchemeTree& tree) {
  txn.exec_prepared(session.Prepare(sql::kClassUnplace), tree.scheme());
  PlacementRows rows;
  auto flush = [&] {
    if (rows.size() == 0) return;
    txn.exec_prepared(session.Prepare(sql::kClassInsertPlacements), TextArray(rows.scheme),
                      TextArray(rows.code), TextArray(rows.thesis), Array(rows.direct),
                      Array(rows.legacy));
    rows.Clear();
  };
  int64_t theses = 0;
  for (const pqxx::row& row : txn.exec_prepared(session.Prepare(sql::kClassPlacementInputs))) {
    rows.Add(tree, row[0].c_str(), PlacementInput(row));
    ++theses;
    if (rows.size() >= kPlacementChunk) flush();
  }
  flush();
  txn.exec_prepared(session.Prepare(sql::kClassRecount), tree.scheme());
  txn.exec_prepared(session.Prepare(sql::kClassMarkPlaced), tree.scheme());
  return theses;
}

ClassCounts ReadClassCounts(const pqxx::row& row, int first) {
  ClassCounts c;
  c.direct_theses = row[first].as<int64_t>();
  c.subtree_theses = row[first + 1].as<int64_t>();
  c.subtree_downloads = row[first + 2].as<int64_t>();
  c.subtree_legacy = row[first + 3].as<int64_t>();
  return c;
}

class PgClassRepository : public ClassRepository {
 public:
  explicit PgClassRepository(PgSession& session) : session_(session) {}

  absl::StatusOr<ClassSnapshot> Snapshot(const CallContext& ctx, const std::string& scheme,
                                         const CodesOf& codes_of) override {
    return session_.Run<ClassSnapshot>(
        ctx, "class_snapshot",
        [&](pqxx::connection& c) -> absl::StatusOr<ClassSnapshot> {
          pqxx::nontransaction n(c);
          for (int attempt = 0;; ++attempt) {
            absl::StatusOr<Tree> tree = CurrentTree(session_, n, scheme);
            if (!tree.ok()) return tree.status();
            std::vector<std::string> codes = codes_of(**tree);
            codes.insert(codes.end(), {domain::classes::kUnresolved, domain::classes::kNone,
                                       domain::classes::kClassified});
            pqxx::result r =
                n.exec_prepared(session_.Prepare(sql::kClassSnapshot), scheme, TextArray(codes));
            if (r.empty()) return absl::NotFoundError(absl::StrCat("no scheme ", scheme));
            if (r[0][0].as<int64_t>() != (*tree)->generation() && attempt == 0) {
              // Another replica imported a table: read it and try again.
              session_.class_trees().Forget(scheme);
              continue;
            }
            ClassSnapshot snapshot;
            snapshot.tree = *tree;
            snapshot.info.title = r[0][1].c_str();
            snapshot.info.version = r[0][2].c_str();
            snapshot.info.update_time = absl::FromUnixMicros(r[0][3].as<int64_t>());
            for (const pqxx::row& row : r) {
              if (!row[4].is_null()) snapshot.counts[row[4].c_str()] = ReadClassCounts(row, 5);
            }
            return snapshot;
          }
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<ClassImportResult> Import(
      const CallContext& ctx, const std::string& scheme, const std::string& version,
      const std::vector<domain::classes::ImportRow>& rows) override {
    return session_.Run<ClassImportResult>(
        ctx, "class_import", [&](pqxx::connection& c) -> absl::StatusOr<ClassImportResult> {
          pqxx::work txn(c);
          txn.exec_prepared(session_.Prepare(sql::kClassLock));
          absl::StatusOr<Tree> current = LoadTree(session_, txn, scheme);
          if (!current.ok()) return current.status();
          std::vector<ClassRow> existing;
          existing.reserve((*current)->size());
          for (const SchemeTree::Node& node : (*current)->nodes()) {
            existing.push_back({node.code, node.parent, node.name});
          }
          ClassImportResult result;
          result.merge = domain::classes::MergeTable(scheme, existing, rows);
          std::vector<std::string> codes, parents, names;
          std::vector<int64_t> ordinals;
          auto flush = [&] {
            if (codes.empty()) return;
            txn.exec_prepared(session_.Prepare(sql::kClassUpsert), scheme, TextArray(codes),
                              TextArray(parents), TextArray(names), Array(ordinals));
            codes.clear();
            parents.clear();
            names.clear();
            ordinals.clear();
          };
          for (size_t i = 0; i < result.merge.rows.size(); ++i) {
            const ClassRow& row = result.merge.rows[i];
            codes.push_back(row.code);
            parents.push_back(row.parent);
            names.push_back(row.name);
            ordinals.push_back(static_cast<int64_t>(i));
            if (codes.size() >= kPlacementChunk) flush();
          }
          flush();
          // Every class gets its counter row (new ones start at zero).
          txn.exec_prepared(session_.Prepare(sql::kClassEnsureCounts), scheme);
          const int64_t generation =
              txn.exec_prepared1(session_.Prepare(sql::kClassNewVersion), scheme, version)[0]
                  .as<int64_t>();
          absl::StatusOr<Tree> tree = SchemeTree::Build(scheme, result.merge.rows, generation);
          if (!tree.ok()) {
            return absl::InternalError(
                absl::StrCat("merged ", scheme, " table: ", tree.status().message()));
          }
          result.theses_placed = PlaceAll(session_, txn, **tree);
          result.class_count = static_cast<int64_t>((*tree)->size());
          txn.commit();
          session_.class_trees().Put(*tree);
          result.merge.rows.clear();
          return result;
        });
  }

  absl::StatusOr<ClassThesesPage> ListTheses(const CallContext& ctx,
                                             const ClassThesesQuery& q) override {
    std::vector<std::string> params = {q.scheme, q.code};
    auto param = [&params](std::string value) {
      params.push_back(std::move(value));
      return absl::StrCat("$", params.size());
    };
    const char* key = q.order == ClassOrder::kDownloads    ? "coalesce(dn.n, 0)"
                      : q.order == ClassOrder::kDegreeYear ? "t.degree_year"
                                                           : "t.sort_title";
    std::string where = "tc.scheme = $1 AND tc.code = $2";
    if (q.after) {
      std::string key_param;
      if (const int64_t* k = std::get_if<int64_t>(&q.after->key)) {
        key_param = absl::StrCat(param(std::to_string(*k)),
                                 q.order == ClassOrder::kDownloads ? "::bigint" : "::int");
      } else {
        key_param = absl::StrCat(param(std::get<std::string>(q.after->key)), "::text");
      }
      absl::StrAppend(&where, " AND (", key, ", t.id) ", q.descending ? "<" : ">", " (", key_param,
                      ", ", param(q.after->id), "::text)");
    }
    const char* dir = q.descending ? " DESC" : "";
    const std::string text = absl::StrCat(
        "SELECT " THESIS_PG_COLUMNS
        ", coalesce(dn.n, 0) FROM thesis_classes tc "
        "JOIN theses t ON t.id = tc.thesis_id LEFT JOIN LATERAL (SELECT "
        "sum(m.total_requests)::bigint AS n FROM download_monthly m WHERE m.thesis_id = t.id) dn "
        "ON true WHERE ",
        where, " ORDER BY ", key, dir, ", t.id", dir, " LIMIT ", param(std::to_string(q.limit + 1)),
        "::int");
    return session_.Run<ClassThesesPage>(
        ctx, "class_theses",
        [&](pqxx::connection& c) -> absl::StatusOr<ClassThesesPage> {
          const std::string name = session_.PrepareDynamic(text);
          pqxx::nontransaction n(c);
          pqxx::result r = n.exec_prepared(name, pqxx::prepare::make_dynamic_params(params));
          ClassThesesPage page;
          const size_t want = static_cast<size_t>(q.limit);
          for (size_t i = 0; i < r.size() && i < want; ++i) {
            page.theses.push_back({ReadThesisRow(r[i]), r[i][25].as<int64_t>()});
          }
          if (r.size() > want) {
            const ClassThesis& last = page.theses.back();
            page.next =
                ClassThesisPosition(last.thesis, last.downloads, r[want - 1][0].c_str(), q.order);
          }
          return page;
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<std::vector<Thesis>> LabelledTheses(const CallContext& ctx,
                                                     const std::string& scheme,
                                                     int limit) override {
    return session_.Run<std::vector<Thesis>>(
        ctx, "class_labelled",
        [&](pqxx::connection& c) -> absl::StatusOr<std::vector<Thesis>> {
          pqxx::nontransaction n(c);
          std::vector<Thesis> out;
          for (const pqxx::row& row :
               n.exec_prepared(session_.Prepare(sql::kClassLabelled), scheme, limit)) {
            Thesis& t = out.emplace_back();
            t.set_title_zh(row[0].c_str());
            t.set_title_en(row[1].c_str());
            t.set_abstract_zh(row[2].c_str());
            t.set_abstract_en(row[3].c_str());
            ReadTextArrayField(row[4], t.mutable_keywords_zh());
            ReadTextArrayField(row[5], t.mutable_keywords_en());
            ReadTextArrayField(row[6], t.mutable_classification_codes());
            t.set_discipline(row[7].c_str());
          }
          return out;
        },
        /*retry_once=*/true);
  }

  absl::StatusOr<absl::flat_hash_map<std::string, ClassCounts>> Recount(
      const CallContext& ctx, const std::string& scheme) override {
    using Counts = absl::flat_hash_map<std::string, ClassCounts>;
    return session_.Run<Counts>(
        ctx, "class_recount", [&](pqxx::connection& c) -> absl::StatusOr<Counts> {
          // One snapshot for the table, the theses and the downloads.
          pqxx::transaction<pqxx::isolation_level::repeatable_read> txn(c);
          absl::StatusOr<Tree> tree = LoadTree(session_, txn, scheme);
          if (!tree.ok()) return tree.status();
          absl::flat_hash_map<std::string, int64_t> downloads;
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kClassDownloadTotals))) {
            downloads[row[0].c_str()] = row[1].as<int64_t>();
          }
          Counts counts;
          for (const pqxx::row& row :
               txn.exec_prepared(session_.Prepare(sql::kClassPlacementInputs))) {
            const Thesis t = PlacementInput(row);
            auto d = downloads.find(row[0].c_str());
            CountPlacement((*tree)->Place(t), d == downloads.end() ? 0 : d->second,
                           t.legacy_download_count(), &counts);
          }
          txn.commit();
          return counts;
        });
  }

  absl::StatusOr<int64_t> PlaceStale(const CallContext& ctx) override {
    return session_.Run<int64_t>(
        ctx, "class_place_stale", [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
          pqxx::work txn(c);
          txn.exec_prepared(session_.Prepare(sql::kClassLock));
          int64_t placed = 0;
          for (const pqxx::row& row : txn.exec_prepared(session_.Prepare(sql::kClassStale))) {
            absl::StatusOr<Tree> tree = LoadTree(session_, txn, row[0].c_str());
            if (!tree.ok()) return tree.status();
            placed += PlaceAll(session_, txn, **tree);
          }
          txn.commit();
          return placed;
        });
  }

 private:
  PgSession& session_;
};

}  // namespace

bool PlacementInputsDiffer(const Thesis& before, const Thesis& after) {
  return before.discipline() != after.discipline() ||
         before.legacy_download_count() != after.legacy_download_count() ||
         before.classification_codes_size() != after.classification_codes_size() ||
         !std::equal(before.classification_codes().begin(), before.classification_codes().end(),
                     after.classification_codes().begin());
}

absl::Status PlaceTheses(PgSession& session, pqxx::work& txn,
                         const std::vector<std::pair<std::string, const Thesis*>>& theses) {
  if (theses.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  ids.reserve(theses.size());
  for (const auto& [id, t] : theses) ids.push_back(id);
  for (int attempt = 0; attempt < kMaxPlaceAttempts; ++attempt) {
    std::vector<std::string> schemes;
    std::vector<int64_t> generations;
    PlacementRows rows;
    std::vector<Tree> trees;
    for (const std::string& scheme : domain::classes::Schemes()) {
      absl::StatusOr<Tree> tree = CurrentTree(session, txn, scheme);
      if (!tree.ok()) return tree.status();
      schemes.push_back(scheme);
      generations.push_back((*tree)->generation());
      trees.push_back(*std::move(tree));
    }
    for (const auto& [id, t] : theses) {
      if (t == nullptr) continue;
      for (const Tree& tree : trees) rows.Add(*tree, id, *t);
    }
    const bool placed =
        txn.exec_prepared1(session.Prepare(sql::kClassPlace), TextArray(ids), TextArray(schemes),
                           Array(generations), TextArray(rows.scheme), TextArray(rows.code),
                           TextArray(rows.thesis), Array(rows.direct), Array(rows.legacy))[0]
            .as<bool>();
    if (placed) return absl::OkStatus();
    // A table changed since this process loaded it; the class lock is held
    // now, so what LoadTree reads next stays current until the commit.
    for (const std::string& scheme : schemes) session.class_trees().Forget(scheme);
  }
  return absl::AbortedError("the classification tables kept changing during the write; retry");
}

std::unique_ptr<ClassRepository> NewPgClassRepository(PgSession& session) {
  return std::make_unique<PgClassRepository>(session);
}

}  // namespace thesis::storage
