// One contract for every storage backend: the same tests run against the
// in-memory store and PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "google/protobuf/util/message_differencer.h"
#include "server/common/errors.h"
#include "server/domain/import_key.h"
#include "server/domain/list_query.h"
#include "server/domain/thesis_validation.h"
#include "tests/support/backends.h"
#include "tests/support/test_env.h"

namespace thesis::storage {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::BackendKind;
using thesis::v1::Thesis;

Thesis MakeThesis(const std::string& id, const std::string& title, int year) {
  Thesis t;
  t.set_name(domain::ThesisName(id));
  t.set_title_zh(title);
  t.add_authors("作者" + id);
  t.set_institution("兰州大学");
  t.set_discipline("公共管理");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  t.set_degree_year(year);
  return t;
}

// Equal in every field the caller wrote (output-only fields aside).
void ExpectSameContent(const Thesis& expected, const Thesis& actual) {
  EXPECT_EQ(testing::ContentDiff(expected, actual), "");
}

class ContractTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_contract");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    backend_ = std::move(*backend);
    session_ = backend_->NewSession();
  }

  ThesisRepository& repo() { return session_->theses(); }

  Thesis MustCreate(const Thesis& t) {
    absl::StatusOr<Thesis> created = repo().Create(ctx_, t, std::nullopt);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.value_or(Thesis());
  }

  std::vector<std::string> ListAllIds(domain::ListQuery query) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      absl::StatusOr<ListPage> page = repo().List(ctx_, query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Thesis& t : page->theses) ids.push_back(t.name());
      if (!page->next) break;
      query.after = page->next;
    }
    return ids;
  }

  CallContext ctx_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
};

TEST_P(ContractTest, SeedRecordRoundTripsEveryField) {
  Thesis seed = testing::SeedThesis();
  ASSERT_FALSE(seed.abstract_zh().empty()) << "deploy/seed/sample-thesis.json not read";
  seed.set_name("theses/seed");
  Thesis created = MustCreate(seed);
  EXPECT_TRUE(created.has_create_time());
  EXPECT_FALSE(created.etag().empty());
  absl::StatusOr<Thesis> got = repo().Get(ctx_, "seed");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameContent(seed, *got);
  EXPECT_TRUE(MessageDifferencer::Equals(created, *got));
}

TEST_P(ContractTest, AwkwardTextSurvivesArrays) {
  Thesis t = MakeThesis("awkward", "标题", 2020);
  t.clear_authors();
  for (const char* s : {"NULL", "a,b", "{x}", "say \"hi\"", "back\\slash", " lead", "繁體字"}) {
    t.add_authors(s);
  }
  t.add_keywords_zh("关键词");
  t.add_keywords_en("e-government");
  t.add_classification_codes("TP311.13");
  t.add_classification_codes("TP391");
  MustCreate(t);
  absl::StatusOr<Thesis> got = repo().Get(ctx_, "awkward");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameContent(t, *got);
}

TEST_P(ContractTest, LegacyDownloadCountKeepsUnsetApartFromZero) {
  Thesis unset = MakeThesis("unset", "甲", 2010);
  Thesis zero = MakeThesis("zero", "乙", 2010);
  zero.set_legacy_download_count(0);
  MustCreate(unset);
  MustCreate(zero);
  EXPECT_FALSE(repo().Get(ctx_, "unset")->has_legacy_download_count());
  EXPECT_TRUE(repo().Get(ctx_, "zero")->has_legacy_download_count());
}

TEST_P(ContractTest, DuplicateIdIsAlreadyExists) {
  MustCreate(MakeThesis("dup", "一", 2010));
  absl::StatusOr<Thesis> again = repo().Create(ctx_, MakeThesis("dup", "二", 2011), std::nullopt);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(repo().Get(ctx_, "dup")->title_zh(), "一");
}

TEST_P(ContractTest, GetMissingIsNotFound) {
  EXPECT_EQ(repo().Get(ctx_, "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ContractTest, BatchGetIsInRequestOrderAndAllOrNothing) {
  MustCreate(MakeThesis("a", "甲", 2001));
  MustCreate(MakeThesis("b", "乙", 2002));
  MustCreate(MakeThesis("c", "丙", 2003));
  absl::StatusOr<std::vector<Thesis>> got = repo().BatchGet(ctx_, {"c", "a", "b", "a"});
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> names;
  for (const Thesis& t : *got) names.push_back(t.name());
  EXPECT_THAT(names, ::testing::ElementsAre("theses/c", "theses/a", "theses/b", "theses/a"));
  absl::StatusOr<std::vector<Thesis>> partial = repo().BatchGet(ctx_, {"a", "missing"});
  EXPECT_EQ(partial.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(partial.status().message()), ::testing::HasSubstr("missing"));
}

TEST_P(ContractTest, UpdateChangesRecordEtagAndUpdateTime) {
  Thesis created = MustCreate(MakeThesis("u", "旧", 2001));
  absl::StatusOr<Thesis> updated = repo().Update(
      ctx_, "u", created.etag(),
      [](Thesis& t) {
        t.set_title_zh("新");
        return absl::OkStatus();
      },
      std::nullopt);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->title_zh(), "新");
  EXPECT_NE(updated->etag(), created.etag());
  EXPECT_TRUE(MessageDifferencer::Equals(updated->create_time(), created.create_time()));
  EXPECT_FALSE(MessageDifferencer::Equals(updated->update_time(), created.update_time()));
  absl::StatusOr<Thesis> got = repo().Get(ctx_, "u");
  EXPECT_TRUE(MessageDifferencer::Equals(*updated, *got));
}

TEST_P(ContractTest, UpdateWithStaleEtagIsAbortedAndChangesNothing) {
  Thesis created = MustCreate(MakeThesis("u", "旧", 2001));
  auto set_title = [](const char* title) {
    return [title](Thesis& t) {
      t.set_title_zh(title);
      return absl::OkStatus();
    };
  };
  ASSERT_TRUE(repo().Update(ctx_, "u", created.etag(), set_title("一"), std::nullopt).ok());
  absl::StatusOr<Thesis> stale =
      repo().Update(ctx_, "u", created.etag(), set_title("二"), std::nullopt);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(repo().Get(ctx_, "u")->title_zh(), "一");
}

TEST_P(ContractTest, UpdateMutatorErrorChangesNothing) {
  MustCreate(MakeThesis("u", "旧", 2001));
  absl::StatusOr<Thesis> failed = repo().Update(
      ctx_, "u", "",
      [](Thesis& t) {
        t.set_title_zh("不该写入");
        return InvalidFieldError("thesis.title_zh", "no");
      },
      std::nullopt);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(repo().Get(ctx_, "u")->title_zh(), "旧");
}

TEST_P(ContractTest, UpdateMissingIsNotFound) {
  auto noop = [](Thesis&) { return absl::OkStatus(); };
  EXPECT_EQ(repo().Update(ctx_, "none", "", noop, std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(ContractTest, DeleteHonoursEtag) {
  Thesis created = MustCreate(MakeThesis("d", "删", 2001));
  EXPECT_EQ(repo().Delete(ctx_, "d", "W/\"9-1\"", std::nullopt).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(repo().Get(ctx_, "d").ok());
  EXPECT_TRUE(repo().Delete(ctx_, "d", created.etag(), std::nullopt).ok());
  EXPECT_EQ(repo().Get(ctx_, "d").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo().Delete(ctx_, "d", "", std::nullopt).code(), absl::StatusCode::kNotFound);
}

TEST_P(ContractTest, RecreatedRecordGetsAnEtagTheOldOneDoesNotMatch) {
  Thesis first = MustCreate(MakeThesis("r", "一", 2001));
  ASSERT_TRUE(repo().Delete(ctx_, "r", "", std::nullopt).ok());
  Thesis second = MustCreate(MakeThesis("r", "一", 2001));
  EXPECT_NE(first.etag(), second.etag());
}

TEST_P(ContractTest, RetriedCreateWithSameRequestIdReturnsFirstAnswer) {
  Idempotency idem{"req-1", "hash-a"};
  absl::StatusOr<Thesis> first = repo().Create(ctx_, MakeThesis("x1", "一", 2001), idem);
  ASSERT_TRUE(first.ok()) << first.status();
  // A retry of the same request: even if the server picked another id this
  // time, the first answer comes back and nothing new is written.
  absl::StatusOr<Thesis> retry = repo().Create(ctx_, MakeThesis("x2", "一", 2001), idem);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*first, *retry));
  EXPECT_EQ(repo().Get(ctx_, "x2").status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<Thesis> other =
      repo().Create(ctx_, MakeThesis("x3", "二", 2001), Idempotency{"req-1", "hash-b"});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorReason(other.status()), "REQUEST_ID_REUSED");
  EXPECT_EQ(repo().Get(ctx_, "x3").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ContractTest, PrunedRequestIdsAreForgotten) {
  Idempotency idem{"req-old", "hash"};
  ASSERT_TRUE(repo().Create(ctx_, MakeThesis("first", "一", 2001), idem).ok());
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(session_->PruneRequestLog(absl::Hours(1)).ok());
  EXPECT_EQ(repo().Create(ctx_, MakeThesis("second", "一", 2001), idem)->name(), "theses/first")
      << "an answer younger than the retention is kept";
  ASSERT_TRUE(session_->PruneRequestLog(absl::ZeroDuration()).ok());
  EXPECT_EQ(repo().Create(ctx_, MakeThesis("second", "一", 2001), idem)->name(), "theses/second")
      << "after pruning the id is new again";
}

TEST_P(ContractTest, FailedCreateDoesNotConsumeRequestId) {
  MustCreate(MakeThesis("taken", "一", 2001));
  Idempotency idem{"req-2", "hash"};
  EXPECT_EQ(repo().Create(ctx_, MakeThesis("taken", "二", 2001), idem).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(repo().Create(ctx_, MakeThesis("free", "二", 2001), idem).ok());
}

TEST_P(ContractTest, RetriedUpdateAndDeleteApplyOnce) {
  MustCreate(MakeThesis("c", "一", 2001));
  Idempotency update_id{"upd", "h1"};
  auto append = [](Thesis& t) {
    t.set_title_zh(t.title_zh() + "+");
    return absl::OkStatus();
  };
  absl::StatusOr<Thesis> first = repo().Update(ctx_, "c", "", append, update_id);
  absl::StatusOr<Thesis> retry = repo().Update(ctx_, "c", "", append, update_id);
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_EQ(retry->title_zh(), "一+");
  EXPECT_EQ(repo().Get(ctx_, "c")->title_zh(), "一+");

  Idempotency delete_id{"del", "h2"};
  EXPECT_TRUE(repo().Delete(ctx_, "c", "", delete_id).ok());
  EXPECT_TRUE(repo().Delete(ctx_, "c", "", delete_id).ok()) << "a retried delete succeeds";
}

TEST_P(ContractTest, ListFiltersOnEveryField) {
  Thesis a = MakeThesis("a", "甲", 2005);
  a.set_institution("北京大学");
  a.add_advisors("王老师");
  a.add_classification_codes("TP311.13");
  a.set_degree_level(thesis::v1::DEGREE_LEVEL_DOCTOR);
  Thesis b = MakeThesis("b", "乙", 2009);
  b.set_discipline("计算机科学");
  b.add_classification_codes("D630");
  b.add_classification_codes("TP391");
  Thesis c = MakeThesis("c", "丙", 2012);
  c.clear_authors();
  c.add_authors("共同作者");
  c.add_authors("作者a");
  for (const Thesis& t : {a, b, c}) MustCreate(t);

  auto ids_for = [&](const std::string& filter) {
    domain::ListQuery q;
    absl::StatusOr<domain::ThesisFilter> f = domain::ParseThesisFilter(filter);
    EXPECT_TRUE(f.ok()) << f.status();
    q.filter = *f;
    std::vector<std::string> ids = ListAllIds(q);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(ids_for("institution = \"北京大学\""), ElementsAre("theses/a"));
  EXPECT_THAT(ids_for("discipline = \"计算机科学\""), ElementsAre("theses/b"));
  EXPECT_THAT(ids_for("degree_level = DOCTOR"), ElementsAre("theses/a"));
  EXPECT_THAT(ids_for("degree_year >= 2006 AND degree_year <= 2012"),
              ElementsAre("theses/b", "theses/c"));
  EXPECT_THAT(ids_for("degree_year < 2009"), ElementsAre("theses/a"));
  EXPECT_THAT(ids_for("author = \"作者a\""), ElementsAre("theses/a", "theses/c"));
  EXPECT_THAT(ids_for("advisor = \"王老师\""), ElementsAre("theses/a"));
  EXPECT_THAT(ids_for("classification_code = \"TP3*\""), ElementsAre("theses/a", "theses/b"));
  EXPECT_THAT(ids_for("classification_code = \"TP391\""), ElementsAre("theses/b"));
  EXPECT_THAT(ids_for("classification_code = \"TP39\""), ElementsAre());
  EXPECT_THAT(ids_for("classification_code = \"TP3*\" AND degree_year > 2005"),
              ElementsAre("theses/b"));
}

TEST_P(ContractTest, ListPagesFollowEachOrderInBothDirections) {
  // Titles and years repeat so that the id tie-breaker matters.
  std::vector<Thesis> all;
  for (int i = 0; i < 23; ++i) {
    Thesis t = MakeThesis("t" + std::to_string(100 + i),
                          i % 3 == 0 ? "同名" : "题" + std::to_string(i % 5), 2000 + i % 4);
    if (i % 7 == 0) {
      t.clear_title_zh();
      t.set_title_en("English only " + std::to_string(i));
    }
    all.push_back(MustCreate(t));
  }
  for (domain::OrderKey key :
       {domain::OrderKey::kCreateTime, domain::OrderKey::kDegreeYear, domain::OrderKey::kTitle}) {
    for (bool desc : {false, true}) {
      std::vector<std::pair<domain::SortPosition, std::string>> expected;
      for (const Thesis& t : all) {
        expected.emplace_back(domain::PositionOf(t, t.name().substr(7), key), t.name());
      }
      std::sort(expected.begin(), expected.end(), [&](const auto& x, const auto& y) {
        int cmp = domain::ComparePositions(x.first, y.first);
        return desc ? cmp > 0 : cmp < 0;
      });
      std::vector<std::string> want;
      for (const auto& e : expected) want.push_back(e.second);
      domain::ListQuery q;
      q.order_key = key;
      q.descending = desc;
      q.page_size = 4;
      EXPECT_EQ(ListAllIds(q), want) << "order " << static_cast<int>(key) << " desc " << desc;
    }
  }
}

TEST_P(ContractTest, LastPageHasNoNextPosition) {
  for (int i = 0; i < 4; ++i) MustCreate(MakeThesis("p" + std::to_string(i), "题", 2001));
  domain::ListQuery q;
  q.page_size = 4;
  absl::StatusOr<ListPage> page = repo().List(ctx_, q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->theses.size(), 4u);
  EXPECT_FALSE(page->next.has_value());
}

ImportItem ItemFor(const Thesis& t, const std::string& id, bool id_given = false) {
  ImportItem item;
  item.thesis = t;
  item.thesis.clear_name();
  item.id = id;
  item.id_given = id_given;
  item.import_key = domain::ImportKey(item.thesis);
  return item;
}

TEST_P(ContractTest, ImportCreatesThenLeavesAloneThenUpdates) {
  std::vector<ImportItem> items;
  for (int i = 0; i < 5; ++i) {
    Thesis t = MakeThesis("", "导入" + std::to_string(i), 2010 + i);
    if (i == 4) {
      t.mutable_source()->set_database("CMFD");
      t.mutable_source()->set_record_id("1011000001.nh");
    }
    items.push_back(ItemFor(t, "imp" + std::to_string(i)));
  }
  auto outcomes = repo().Import(ctx_, items);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_THAT(*outcomes, ::testing::Each(ImportOutcome::kCreated));
  absl::StatusOr<Thesis> stored = repo().Get(ctx_, "imp0");
  ASSERT_TRUE(stored.ok());
  ExpectSameContent(items[0].thesis, *stored);

  // Same records again, even with other would-be ids: nothing changes.
  for (ImportItem& item : items) item.id += "x";
  outcomes = repo().Import(ctx_, items);
  ASSERT_TRUE(outcomes.ok());
  EXPECT_THAT(*outcomes, ::testing::Each(ImportOutcome::kUnchanged));
  EXPECT_EQ(repo().Get(ctx_, "imp0x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repo().Get(ctx_, "imp0")->etag(), stored->etag());

  // Changed content, same identity: updated in place. The source identity
  // wins over the natural key (the title changes too).
  items[1].thesis.set_abstract_zh("新摘要");
  items[4].thesis.set_title_zh("改了题名");
  outcomes = repo().Import(ctx_, items);
  ASSERT_TRUE(outcomes.ok());
  EXPECT_THAT(*outcomes,
              ::testing::ElementsAre(ImportOutcome::kUnchanged, ImportOutcome::kUpdated,
                                     ImportOutcome::kUnchanged, ImportOutcome::kUnchanged,
                                     ImportOutcome::kUpdated));
  EXPECT_EQ(repo().Get(ctx_, "imp1")->abstract_zh(), "新摘要");
  EXPECT_EQ(repo().Get(ctx_, "imp4")->title_zh(), "改了题名");
  EXPECT_NE(repo().Get(ctx_, "imp1")->etag(), repo().Get(ctx_, "imp0")->etag());
  domain::ListQuery all;
  EXPECT_EQ(ListAllIds(all).size(), 5u);
}

TEST_P(ContractTest, ImportMatchesByNameWhenGiven) {
  Thesis t = MakeThesis("", "有名字", 2015);
  auto created = repo().Import(ctx_, {ItemFor(t, "named", true)});
  ASSERT_TRUE(created.ok());
  EXPECT_THAT(*created, ::testing::ElementsAre(ImportOutcome::kCreated));
  t.set_title_zh("改名");  // another natural key, same name
  auto updated = repo().Import(ctx_, {ItemFor(t, "named", true)});
  ASSERT_TRUE(updated.ok());
  EXPECT_THAT(*updated, ::testing::ElementsAre(ImportOutcome::kUpdated));
  EXPECT_EQ(repo().Get(ctx_, "named")->title_zh(), "改名");
}

TEST_P(ContractTest, ImportNeverTakesTheKeyOfAnotherRecord) {
  Thesis t = MakeThesis("", "同一篇", 2015);
  ASSERT_TRUE(repo().Import(ctx_, {ItemFor(t, "first")}).ok());
  // Another record with the same natural key but its own name: kept apart.
  auto outcomes = repo().Import(ctx_, {ItemFor(t, "second", true)});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_THAT(*outcomes, ::testing::ElementsAre(ImportOutcome::kCreated));
  EXPECT_TRUE(repo().Get(ctx_, "first").ok());
  EXPECT_TRUE(repo().Get(ctx_, "second").ok());
  // A nameless import of it still finds the first.
  outcomes = repo().Import(ctx_, {ItemFor(t, "third")});
  ASSERT_TRUE(outcomes.ok());
  EXPECT_THAT(*outcomes, ::testing::ElementsAre(ImportOutcome::kUnchanged));
}

INSTANTIATE_TEST_SUITE_P(Backends, ContractTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis::storage
