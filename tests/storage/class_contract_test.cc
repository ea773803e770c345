// The classification contract, the same on every storage backend: tables
// import with their problems reported, theses are placed where the CLC
// notation says, and the rolled-up counts a backend keeps always equal a
// recount from scratch, whatever mix of creates, updates, reclassifications,
// imports, deletes and downloads came before (also when they run at once).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/domain/class_tree.h"
#include "server/domain/import_key.h"
#include "server/domain/thesis_validation.h"
#include "server/storage/class_counting.h"
#include "tests/support/backends.h"
#include "tests/support/test_env.h"
#include "thesis/formats/class_tables.h"

namespace thesis::storage {
namespace {

using domain::classes::ImportRow;
using domain::classes::SchemeTree;
using testing::BackendKind;
using thesis::v1::Thesis;

// A small CLC extension below the built-in two levels, with a range.
std::vector<ImportRow> SmallClcTable() {
  std::vector<ImportRow> rows;
  auto add = [&rows](const char* code, const char* parent, const char* name) {
    rows.push_back({{code, parent, name}, absl::StrCat("small:", rows.size() + 1)});
  };
  add("D63", "D6", "国家行政管理");
  add("D630", "D63", "国家机关工作与人事管理");
  add("D630.1", "D630", "国家机关工作");
  add("TP3", "TP", "计算技术、计算机技术");
  add("TP31", "TP3", "计算机软件");
  add("TP311", "TP31", "程序设计、软件工程");
  add("TP311.1", "TP311", "程序设计");
  add("B51/56", "B5", "欧洲各国哲学");
  add("B516", "B51/56", "德国哲学");
  return rows;
}

// The rows of a table file, read as thesisctl reads them.
std::vector<ImportRow> ReadTable(const std::string& bytes, const std::string& name) {
  const formats::ClassTable table = formats::ParseClassTable(bytes, name);
  EXPECT_TRUE(table.problems.empty()) << name;
  std::vector<ImportRow> rows;
  for (const thesis::v1::ClassRow& r : table.rows) {
    rows.push_back({{r.code(), r.parent(), r.display_name()}, r.origin()});
  }
  return rows;
}

class ClassContractTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_classes");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    backend_ = std::move(*backend);
    session_ = backend_->NewSession();
  }

  ClassRepository& repo() { return session_->classes(); }

  ClassSnapshot MustSnapshot(const std::string& scheme, std::vector<std::string> codes) {
    absl::StatusOr<ClassSnapshot> s =
        repo().Snapshot(ctx_, scheme, [&](const SchemeTree&) { return codes; });
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : ClassSnapshot{};
  }

  // Every class's maintained counts equal the recount from scratch, and
  // both equal what the test computes from the theses it knows.
  void ExpectCountsExact(const std::string& scheme,
                         const absl::flat_hash_map<std::string, Thesis>& theses,
                         const absl::flat_hash_map<std::string, int64_t>& downloads) {
    absl::StatusOr<absl::flat_hash_map<std::string, ClassCounts>> recount =
        repo().Recount(ctx_, scheme);
    ASSERT_TRUE(recount.ok()) << recount.status();
    ClassSnapshot all = MustSnapshot(scheme, {});
    std::vector<std::string> codes;
    for (const SchemeTree::Node& n : all.tree->nodes()) codes.push_back(n.code);
    ClassSnapshot s = MustSnapshot(scheme, codes);
    absl::flat_hash_map<std::string, ClassCounts> expected;
    for (const auto& [id, t] : theses) {
      auto d = downloads.find(id);
      CountPlacement(s.tree->Place(t), d == downloads.end() ? 0 : d->second,
                     t.legacy_download_count(), &expected);
    }
    codes.insert(codes.end(), {domain::classes::kUnresolved, domain::classes::kNone,
                               domain::classes::kClassified});
    int nonzero = 0;
    for (const std::string& code : codes) {
      const ClassCounts zero;
      auto get = [&](const absl::flat_hash_map<std::string, ClassCounts>& m) {
        auto it = m.find(code);
        return it == m.end() ? zero : it->second;
      };
      const ClassCounts kept = get(s.counts), fresh = get(*recount), mine = get(expected);
      EXPECT_TRUE(kept == fresh) << scheme << " " << code << ": kept " << kept.subtree_theses << "/"
                                 << kept.direct_theses << "/" << kept.subtree_downloads << "/"
                                 << kept.subtree_legacy << ", recount " << fresh.subtree_theses
                                 << "/" << fresh.direct_theses << "/" << fresh.subtree_downloads
                                 << "/" << fresh.subtree_legacy;
      EXPECT_TRUE(fresh == mine) << scheme << " " << code << ": recount " << fresh.subtree_theses
                                 << ", expected " << mine.subtree_theses;
      if (kept.subtree_theses > 0) ++nonzero;
    }
    EXPECT_GT(nonzero, 0) << "the test placed no thesis in " << scheme;
  }

  CallContext ctx_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
};

TEST_P(ClassContractTest, BuiltInTablesAreTheDefaultsOfBothSchemes) {
  for (const std::string& scheme : domain::classes::Schemes()) {
    ClassSnapshot s = MustSnapshot(scheme, {});
    ASSERT_NE(s.tree, nullptr);
    const std::vector<domain::classes::ClassRow> builtin = domain::classes::BuiltinRows(scheme);
    ASSERT_EQ(s.tree->size(), builtin.size()) << scheme;
    for (size_t i = 0; i < builtin.size(); ++i) {
      EXPECT_EQ(s.tree->nodes()[i].code, builtin[i].code);
      EXPECT_EQ(s.tree->nodes()[i].name, builtin[i].name);
      EXPECT_EQ(s.tree->nodes()[i].parent, builtin[i].parent);
    }
    EXPECT_EQ(s.info.version, "builtin");
  }
  ClassSnapshot clc = MustSnapshot("clc", {});
  EXPECT_EQ(clc.tree->roots().size(), 22u);  // A-K, N-X, Z
  const int d6 = clc.tree->Find("D6");
  ASSERT_GE(d6, 0);
  EXPECT_EQ(clc.tree->nodes()[d6].level, 2);
  ClassSnapshot discipline = MustSnapshot("discipline", {});
  EXPECT_EQ(discipline.tree->roots().size(), 14u);  // 13 categories + 交叉学科
  EXPECT_GE(discipline.tree->Find("1204"), 0);
}

TEST_P(ClassContractTest, SeedRecordShowsUnderItsPathAndMovesWhenReclassified) {
  ASSERT_TRUE(repo().Import(ctx_, "clc", "test-small", SmallClcTable()).ok());
  Thesis seed = testing::SeedThesis();
  const std::string id = "seed-lzu-2009-zheng";
  seed.set_name(domain::ThesisName(id));
  ASSERT_EQ(seed.classification_codes(0), "D630");
  ASSERT_TRUE(session_->theses().Create(ctx_, seed, std::nullopt).ok());

  // Two full-text downloads and one abstract view of the seed.
  std::vector<domain::counter::Event> events;
  for (int i = 0; i < 3; ++i) {
    domain::counter::Event e;
    e.item = id;
    e.time = absl::Now() - absl::Minutes(10 - i * 2);
    e.kind =
        i < 2 ? domain::counter::EventKind::kRequest : domain::counter::EventKind::kInvestigation;
    e.user_id = absl::StrCat("reader-", i);
    e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0";
    events.push_back(e);
  }
  auto recorded =
      session_->downloads().Record(ctx_, events, domain::counter::RobotFilter::BuiltIn());
  ASSERT_TRUE(recorded.ok()) << recorded.status();

  ClassSnapshot s = MustSnapshot("clc", {"D", "D6", "D63", "D630", "TP", "TP311.1"});
  const int d630 = s.tree->Find("D630");
  ASSERT_GE(d630, 0);
  std::vector<std::string> path;
  for (int p : s.tree->PathTo(d630)) path.push_back(s.tree->nodes()[p].code);
  EXPECT_EQ(path, (std::vector<std::string>{"D", "D6", "D63"}));
  const int64_t legacy = seed.legacy_download_count();
  for (const char* code : {"D", "D6", "D63", "D630"}) {
    const ClassCounts& c = s.counts[code];
    EXPECT_EQ(c.subtree_theses, 1) << code;
    EXPECT_EQ(c.direct_theses, std::string(code) == "D630" ? 1 : 0) << code;
    EXPECT_EQ(c.subtree_downloads, 2) << code;
    EXPECT_EQ(c.subtree_legacy, legacy) << code;
  }
  EXPECT_EQ(s.counts["TP"].subtree_theses, 0);

  // Reclassified deeper than the table: TP311.13 resolves to TP311.1.
  auto updated = session_->theses().Update(
      ctx_, id, "",
      [](Thesis& t) {
        t.clear_classification_codes();
        t.add_classification_codes("TP311.13");
        return absl::OkStatus();
      },
      std::nullopt);
  ASSERT_TRUE(updated.ok()) << updated.status();
  s = MustSnapshot("clc", {"D", "D6", "D63", "D630", "TP", "TP3", "TP311.1"});
  for (const char* code : {"D", "D6", "D63", "D630"}) {
    EXPECT_EQ(s.counts[code].subtree_theses, 0) << code;
    EXPECT_EQ(s.counts[code].subtree_downloads, 0) << code;
    EXPECT_EQ(s.counts[code].subtree_legacy, 0) << code;
  }
  for (const char* code : {"TP", "TP3", "TP311.1"}) {
    EXPECT_EQ(s.counts[code].subtree_theses, 1) << code;
    EXPECT_EQ(s.counts[code].subtree_downloads, 2) << code;
  }
  EXPECT_EQ(s.counts["TP311.1"].direct_theses, 1);

  // Deleted: its downloads leave the tree with it.
  ASSERT_TRUE(session_->theses().Delete(ctx_, id, "", std::nullopt).ok());
  s = MustSnapshot("clc", {"TP", "TP311.1"});
  EXPECT_EQ(s.counts["TP"].subtree_theses, 0);
  EXPECT_EQ(s.counts["TP"].subtree_downloads, 0);
}

TEST_P(ClassContractTest, UnresolvedAndMissingCodesAreCountedApart) {
  const std::vector<std::vector<std::string>> codes = {
      {"D630"}, {"L12"}, {}, {"D630", "M3"}, {"not a code"}};
  for (size_t i = 0; i < codes.size(); ++i) {
    Thesis t;
    t.set_name(domain::ThesisName(absl::StrCat("u", i)));
    t.set_title_zh("论文");
    for (const std::string& c : codes[i]) t.add_classification_codes(c);
    ASSERT_TRUE(session_->theses().Create(ctx_, t, std::nullopt).ok());
  }
  ClassSnapshot s = MustSnapshot("clc", {"D6"});
  EXPECT_EQ(s.counts["D6"].subtree_theses, 2);
  EXPECT_EQ(s.counts[domain::classes::kClassified].subtree_theses, 2);
  EXPECT_EQ(s.counts[domain::classes::kUnresolved].subtree_theses, 3);  // L12, M3, not a code
  EXPECT_EQ(s.counts[domain::classes::kNone].subtree_theses, 1);
  // No discipline on any of them.
  ClassSnapshot d = MustSnapshot("discipline", {});
  EXPECT_EQ(d.counts[domain::classes::kNone].subtree_theses, 5);
}

TEST_P(ClassContractTest, ImportReportsProblemsAndIsIdempotent) {
  std::vector<ImportRow> rows = SmallClcTable();
  rows.push_back({{"D63", "D6", "重复"}, "dup"});            // duplicate of row 1
  rows.push_back({{"Q959.195", "Q95", "</a>"}, "damaged"});  // markup only
  rows.push_back({{"TP311..1", "TP311", "坏"}, "bad"});      // not CLC notation
  rows.push_back({{"X99", "X98", "孤儿"}, "orphan"});        // unknown parent: a root
  absl::StatusOr<ClassImportResult> first = repo().Import(ctx_, "clc", "v1", rows);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->merge.created, 11);
  EXPECT_EQ(first->merge.failed, 2);
  ASSERT_EQ(first->merge.problems.size(), 4u);
  EXPECT_EQ(first->merge.problems[0].index, 9u);
  EXPECT_FALSE(first->merge.problems[0].loaded);
  EXPECT_EQ(first->merge.problems[1].index, 10u);
  EXPECT_TRUE(first->merge.problems[1].loaded);
  EXPECT_EQ(first->merge.problems[2].index, 11u);
  EXPECT_EQ(first->merge.problems[3].index, 12u);
  EXPECT_TRUE(first->merge.problems[3].loaded);

  absl::StatusOr<ClassImportResult> again = repo().Import(ctx_, "clc", "v1", rows);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->merge.created, 0);
  EXPECT_EQ(again->merge.updated, 0);
  EXPECT_EQ(again->merge.unchanged, 11);
  EXPECT_EQ(again->class_count, first->class_count);
  ClassSnapshot s = MustSnapshot("clc", {});
  EXPECT_EQ(s.info.version, "v1");
  const int q = s.tree->Find("Q959.195");
  ASSERT_GE(q, 0);
  EXPECT_EQ(s.tree->nodes()[q].name, "");
  const int x = s.tree->Find("X99");
  ASSERT_GE(x, 0);
  EXPECT_EQ(s.tree->nodes()[x].parent_index, -1);
}

TEST_P(ClassContractTest, FullClcTableImportsWithItsDuplicatesAndDamagedNamesReported) {
  const auto tsv = testing::ReadFile(testing::SharedDataDir() + "/clc/clc5.tsv");
  if (!tsv) GTEST_SKIP() << "../shared/data/clc/clc5.tsv is absent: full-table test skipped";
  std::vector<ImportRow> rows = ReadTable(*tsv, "clc5.tsv");
  ASSERT_EQ(rows.size(), 45785u);
  Thesis seed = testing::SeedThesis();
  seed.set_name(domain::ThesisName("seed"));
  ASSERT_TRUE(session_->theses().Create(ctx_, seed, std::nullopt).ok());
  absl::StatusOr<ClassImportResult> result = repo().Import(ctx_, "clc", "5", rows);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->merge.failed, 0);
  int damaged = 0;
  for (const auto& p : result->merge.problems) damaged += p.loaded ? 1 : 0;
  EXPECT_EQ(damaged, 28);  // the `</a>` names of the flat table
  EXPECT_EQ(result->class_count, 45785);
  EXPECT_EQ(result->theses_placed, 1);
  ClassSnapshot s = MustSnapshot("clc", {"D630", "D63", "D6", "D"});
  for (const char* code : {"D630", "D63", "D6", "D"}) {
    EXPECT_EQ(s.counts[code].subtree_theses, 1) << code;
  }
  absl::StatusOr<ClassImportResult> again = repo().Import(ctx_, "clc", "5", rows);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->merge.unchanged, 45785);
}

TEST_P(ClassContractTest, NestedJsonTreeImportsWithItsRepeatedNodesReported) {
  const std::string path = testing::SharedDataDir() + "/clc/clc5-tree.json";
  const auto json = testing::ReadFile(path);
  if (!json) GTEST_SKIP() << "../shared/data/clc/clc5-tree.json is absent: JSON-tree test skipped";
  std::vector<ImportRow> rows = ReadTable(*json, "clc5-tree.json");
  ASSERT_EQ(rows.size(), 45835u);
  absl::StatusOr<ClassImportResult> result = repo().Import(ctx_, "clc", "5-json", rows);
  ASSERT_TRUE(result.ok()) << result.status();
  // 45,785 distinct classes: 270 were built in, the rest new; the 50
  // repeated nodes are refused, each naming the row it repeats.
  EXPECT_EQ(result->class_count, 45785);
  EXPECT_EQ(result->merge.created, 45785 - 270);
  EXPECT_EQ(result->merge.failed, 50);
  int damaged = 0, repeated = 0;
  for (const auto& p : result->merge.problems) {
    if (p.loaded && absl::StrContains(p.reason, "damaged name")) ++damaged;
    if (!p.loaded && absl::StrContains(p.reason, "duplicate of row")) ++repeated;
  }
  EXPECT_EQ(repeated, 50);
  EXPECT_GE(damaged, 28);
  ClassSnapshot s = MustSnapshot("clc", {});
  const int b516 = s.tree->Find("B516");
  ASSERT_GE(b516, 0);
  EXPECT_EQ(s.tree->nodes()[b516].parent, "B51/56");
  EXPECT_EQ(s.tree->nodes()[b516].level, 4);
}

// 2,000 random operations from two sessions at once, with downloads being
// recorded meanwhile; then every class's counts are checked.
TEST_P(ClassContractTest, RandomOperationsKeepEveryCountExact) {
  ASSERT_TRUE(repo().Import(ctx_, "clc", "test-small", SmallClcTable()).ok());
  const std::vector<std::string> code_pool = {
      "D630", "D630.1", "D630.15",   "D63",      "D6",       "TP311.13", "TP311.1",
      "TP31", "TP3",    "TP391",     "B516",     "B53",      "B5",       "A1",
      "L12",  "[D630]", "D630；TP3", "Ｄ６３０", "bad code", "O15",      "TP311.1/.13"};
  const std::vector<std::string> discipline_pool = {
      "1204", "公共管理", "行政管理", "0812", "", "120401 行政管理", "计算机科学与技术"};
  constexpr int kWriters = 2;
  constexpr int kOpsPerWriter = 1000;
  constexpr int kIdsPerWriter = 60;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, Thesis> alive;  // guarded by mu
  std::vector<std::thread> threads;
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<Session> session = backend_->NewSession();
      std::mt19937 rng(1234 + w);
      auto pick = [&rng](const auto& pool) { return pool[rng() % pool.size()]; };
      auto random_thesis = [&](const std::string& id) {
        Thesis t;
        t.set_name(domain::ThesisName(id));
        t.set_title_zh(absl::StrCat("论文", id));
        const int n = static_cast<int>(rng() % 3);
        for (int i = 0; i < n; ++i) t.add_classification_codes(pick(code_pool));
        t.set_discipline(pick(discipline_pool));
        if (rng() % 2) t.set_legacy_download_count(rng() % 1000);
        return t;
      };
      for (int op = 0; op < kOpsPerWriter; ++op) {
        const std::string id = absl::StrCat("w", w, "-", rng() % kIdsPerWriter);
        bool exists;
        {
          absl::MutexLock lock(&mu);
          exists = alive.contains(id);
        }
        const int kind = static_cast<int>(rng() % 10);
        absl::Status status;
        std::optional<Thesis> now;
        bool deleted = false;
        if (!exists) {
          if (kind < 8) {
            Thesis t = random_thesis(id);
            status = session->theses().Create(ctx_, t, std::nullopt).status();
            now = t;
          } else {
            // An import batch of one new and one existing-or-new record.
            std::vector<ImportItem> items(1);
            items[0].thesis = random_thesis(id);
            items[0].id = id;
            items[0].id_given = true;
            items[0].import_key = absl::StrCat("key-", id);
            status = session->theses().Import(ctx_, items).status();
            now = items[0].thesis;
          }
        } else if (kind < 5) {
          Thesis replacement = random_thesis(id);
          status = session->theses()
                       .Update(
                           ctx_, id, "",
                           [&](Thesis& t) {
                             *t.mutable_classification_codes() = replacement.classification_codes();
                             t.set_discipline(replacement.discipline());
                             if (replacement.has_legacy_download_count()) {
                               t.set_legacy_download_count(replacement.legacy_download_count());
                             } else {
                               t.clear_legacy_download_count();
                             }
                             now = t;
                             return absl::OkStatus();
                           },
                           std::nullopt)
                       .status();
        } else if (kind < 7) {
          Thesis t = random_thesis(id);
          status = session->theses()
                       .Update(
                           ctx_, id, "",
                           [&](Thesis& stored) {
                             stored.set_title_zh(absl::StrCat(t.title_zh(), "（修订）"));
                             now = stored;
                             return absl::OkStatus();
                           },
                           std::nullopt)
                       .status();
        } else if (kind < 9) {
          std::vector<ImportItem> items(1);
          items[0].thesis = random_thesis(id);
          items[0].id = id;
          items[0].id_given = true;
          items[0].import_key = absl::StrCat("key-", id);
          status = session->theses().Import(ctx_, items).status();
          now = items[0].thesis;
        } else {
          status = session->theses().Delete(ctx_, id, "", std::nullopt);
          deleted = true;
        }
        if (!status.ok()) {
          ++failures;
          ADD_FAILURE() << "op " << op << " on " << id << ": " << status;
          continue;
        }
        absl::MutexLock lock(&mu);
        if (deleted) {
          alive.erase(id);
        } else {
          Thesis& t = alive[id];
          t = *now;
        }
      }
    });
  }
  // Downloads of whatever exists, recorded while the writers work.
  threads.emplace_back([&] {
    std::unique_ptr<Session> session = backend_->NewSession();
    auto robots = domain::counter::RobotFilter::BuiltIn();
    std::mt19937 rng(99);
    int n = 0;
    // At least 20 batches: the memory backend's writers may be done before
    // the first one, and the counts must then still include downloads.
    for (int batch = 0; batch < 20 || !writers_done.load(); ++batch) {
      std::vector<domain::counter::Event> events;
      for (int i = 0; i < 8; ++i) {
        domain::counter::Event e;
        e.item = absl::StrCat("w", rng() % kWriters, "-", rng() % kIdsPerWriter);
        e.time = absl::Now() - absl::Seconds(rng() % 3600);
        e.kind = domain::counter::EventKind::kRequest;
        e.user_id = absl::StrCat("u", n++);
        e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0";
        events.push_back(e);
      }
      if (!session->downloads().Record(ctx_, events, robots).ok()) ++failures;
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  writers_done = true;
  threads.back().join();
  ASSERT_EQ(failures.load(), 0);

  // Downloads per thesis as the download store has them.
  std::vector<std::string> ids;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kIdsPerWriter; ++i) ids.push_back(absl::StrCat("w", w, "-", i));
  }
  auto totals = session_->downloads().Totals(ctx_, ids);
  ASSERT_TRUE(totals.ok());
  absl::flat_hash_map<std::string, int64_t> downloads;
  int64_t all_downloads = 0;
  for (const ThesisCounts& t : *totals) {
    downloads[t.id] = t.counts.total_requests;
    if (t.thesis_found) all_downloads += t.counts.total_requests;
  }
  EXPECT_GT(all_downloads, 0);
  EXPECT_GT(alive.size(), 20u);
  ExpectCountsExact("clc", alive, downloads);
  ExpectCountsExact("discipline", alive, downloads);
}

// Two sessions import the same records at once, in opposite batch order, as
// two replicas given the same file would: each record is created once (the
// batch that loses a race on a key is run again and finds the winner's row),
// nothing fails, and the class counts stay exact.
TEST_P(ClassContractTest, ConcurrentImportsOfTheSameRecordsCreateEachOnce) {
  const std::vector<std::vector<std::string>> codes = {
      {"D630"}, {"TP311.13"}, {"TP391", "D630"}, {"B516"}, {}};
  constexpr int kBatches = 3;
  constexpr int kPerBatch = 300;
  auto batch = [&](int b, const std::string& id_prefix) {
    std::vector<ImportItem> items;
    for (int i = b * kPerBatch; i < (b + 1) * kPerBatch; ++i) {
      ImportItem item;
      item.thesis.set_title_zh(absl::StrCat("并发导入", i));
      item.thesis.add_authors("作者");
      item.thesis.set_institution("兰州大学");
      item.thesis.set_degree_year(2000 + i % 20);
      item.thesis.set_discipline(i % 2 == 0 ? "1204" : "0812");
      for (const std::string& code : codes[i % codes.size()]) {
        item.thesis.add_classification_codes(code);
      }
      item.thesis.set_legacy_download_count(i);
      item.id = absl::StrCat(id_prefix, i);
      item.import_key = domain::ImportKey(item.thesis);
      items.push_back(std::move(item));
    }
    return items;
  };
  std::atomic<int> created{0}, unchanged{0}, errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<Session> session = backend_->NewSession();
      for (int k = 0; k < kBatches; ++k) {
        const int b = w == 0 ? k : kBatches - 1 - k;
        auto outcomes = session->theses().Import(ctx_, batch(b, w == 0 ? "a" : "b"));
        if (!outcomes.ok()) {
          ADD_FAILURE() << outcomes.status();
          ++errors;
          continue;
        }
        for (ImportOutcome o : *outcomes) {
          if (o == ImportOutcome::kCreated) ++created;
          if (o == ImportOutcome::kUnchanged) ++unchanged;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(created.load(), kBatches * kPerBatch);
  EXPECT_EQ(unchanged.load(), kBatches * kPerBatch);

  domain::ListQuery q;
  q.page_size = 2 * kBatches * kPerBatch;
  absl::StatusOr<ListPage> page = session_->theses().List(ctx_, q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->theses.size(), static_cast<size_t>(kBatches * kPerBatch));
  absl::flat_hash_map<std::string, Thesis> stored;
  for (const Thesis& t : page->theses) stored[t.name()] = t;
  ExpectCountsExact("clc", stored, {});
  ExpectCountsExact("discipline", stored, {});
}

INSTANTIATE_TEST_SUITE_P(Backends, ClassContractTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis::storage
