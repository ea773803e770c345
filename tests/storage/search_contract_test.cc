// SearchTheses storage contract (docs/search.md): the same tests against the
// in-memory store and PostgreSQL. What is found, in which order, on which
// page, and the facets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/domain/list_query.h"
#include "server/domain/search_index.h"
#include "server/domain/search_query.h"
#include "server/domain/search_text.h"
#include "server/domain/thesis_validation.h"
#include "tests/support/backends.h"
#include "tests/support/test_env.h"

namespace thesis::storage {
namespace {

using testing::BackendKind;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using thesis::v1::Thesis;

Thesis Record(const std::string& id, const std::string& title, int year) {
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

class SearchContractTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(domain::search::InitSearchText().ok());
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_search");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    backend_ = std::move(*backend);
    session_ = backend_->NewSession();
  }

  ThesisRepository& repo() { return session_->theses(); }

  void Create(const Thesis& t) {
    absl::StatusOr<Thesis> created = repo().Create(ctx_, t, std::nullopt);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  absl::StatusOr<SearchPage> Search(const std::string& query, SearchQuery q = {}) {
    absl::StatusOr<domain::search::Query> parsed = domain::search::ParseQuery(query);
    if (!parsed.ok()) return parsed.status();
    q.query = *parsed;
    return repo().Search(ctx_, q);
  }

  // Ids of the first page (up to 100), in order.
  std::vector<std::string> Ids(const std::string& query, SearchQuery q = {}) {
    q.limit = 100;
    absl::StatusOr<SearchPage> page = Search(query, q);
    EXPECT_TRUE(page.ok()) << query << ": " << page.status();
    std::vector<std::string> ids;
    if (!page.ok()) return ids;
    for (const SearchHit& hit : page->hits) ids.push_back(hit.thesis.name().substr(7));
    return ids;
  }

  std::set<std::string> IdSet(const std::string& query) {
    std::vector<std::string> ids = Ids(query);
    return {ids.begin(), ids.end()};
  }

  // Every page of `q`, following the positions.
  std::vector<std::string> AllPages(const std::string& query, SearchQuery q) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      absl::StatusOr<SearchPage> page = Search(query, q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const SearchHit& hit : page->hits) ids.push_back(hit.thesis.name().substr(7));
      if (!page->next) break;
      EXPECT_EQ(page->hits.size(), static_cast<size_t>(q.limit));
      q.after = page->next;
    }
    return ids;
  }

  CallContext ctx_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
};

TEST_P(SearchContractTest, EveryWordOfTheSeedTitleAndEveryBigramOfItsAbstractIsFound) {
  Thesis seed = testing::SeedThesis();
  ASSERT_FALSE(seed.title_en().empty()) << "deploy/seed/sample-thesis.json not read";
  seed.set_name("theses/seed");
  Create(seed);
  Create(Record("other", "高校图书馆服务创新研究", 2012));
  // The seed's title is English only (CNKI shows no Chinese title for it):
  // every word of it.
  std::vector<std::string> words = absl::StrSplit(seed.title_en(), ' ', absl::SkipEmpty());
  ASSERT_GE(words.size(), 10u);
  for (const std::string& word : words) {
    EXPECT_THAT(Ids(word), ElementsAre("seed")) << word;
  }
  // Every two-character sequence of Chinese in the first sentence of its
  // abstract, and so every two-character word there.
  const std::string abstract = seed.abstract_zh();
  const std::string first = abstract.substr(0, abstract.find("。"));
  std::vector<domain::search::Token> tokens = domain::search::Analyze(first);
  int bigrams = 0;
  for (const domain::search::Token& token : tokens) {
    if (token.kind != domain::search::TokenKind::kHanBigram) continue;
    ++bigrams;
    EXPECT_THAT(Ids(token.text), ::testing::Contains("seed")) << token.text;
  }
  EXPECT_GE(bigrams, 40);
}

TEST_P(SearchContractTest, TraditionalAndSimplifiedFindEachOther) {
  Create(Record("simplified", "电子政务与政府治理", 2010));
  Create(Record("traditional", "網絡輿論與國家治理", 2011));
  Create(Record("fullwidth", "ＧＩＳ空间分析", 2011));
  EXPECT_THAT(Ids("電子政務"), ElementsAre("simplified"));
  EXPECT_THAT(Ids("政府"), ElementsAre("simplified"));
  EXPECT_THAT(Ids("网络舆论"), ElementsAre("traditional"));
  EXPECT_THAT(Ids("国家"), ElementsAre("traditional"));
  EXPECT_THAT(Ids("gis"), ElementsAre("fullwidth"));
  EXPECT_THAT(Ids("ＧＩＳ"), ElementsAre("fullwidth"));
  EXPECT_THAT(Ids("GIS空間"), ElementsAre("fullwidth"));
}

TEST_P(SearchContractTest, EnglishIsStemmedAndCaseInsensitive) {
  Thesis t = Record("en", "", 2015);
  t.set_title_en("Governing Networks of Public Libraries");
  Create(t);
  Create(Record("zh", "图书馆", 2015));
  EXPECT_THAT(Ids("network"), ElementsAre("en"));
  EXPECT_THAT(Ids("GOVERNANCE"), ElementsAre("en"));  // govern
  EXPECT_THAT(Ids("library"), ElementsAre("en"));
  EXPECT_THAT(Ids("\"public libraries\""), ElementsAre("en"));
  EXPECT_THAT(Ids("\"libraries public\""), ElementsAre());
}

TEST_P(SearchContractTest, PhraseExclusionOrAndScopes) {
  Thesis a = Record("a", "大数据治理研究", 2010);
  a.add_keywords_zh("数据安全");
  a.set_abstract_zh("本文讨论政府开放数据。");
  a.add_advisors("王伟");
  a.add_classification_codes("TP311.13");
  Create(a);
  Thesis b = Record("b", "治理大数据平台", 2012);
  b.add_keywords_zh("治理");
  b.set_abstract_zh("大数据与电子政务。");
  b.set_institution("北京大学");
  b.add_classification_codes("D630");
  Create(b);
  Thesis c = Record("c", "王伟传记", 2014);
  c.add_authors("王伟");
  c.add_classification_codes("K825");
  Create(c);

  // Words AND, phrases adjacent.
  EXPECT_EQ(IdSet("大数据 治理"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(IdSet("\"大数据治理\""), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("数据治理"), (std::set<std::string>{"a"}));
  // Exclusion.
  EXPECT_EQ(IdSet("大数据 -电子政务"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("王伟 -title:传记"), (std::set<std::string>{"a"}));
  // OR, tighter than AND.
  EXPECT_EQ(IdSet("传记 OR 平台"), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(IdSet("治理 传记 OR 平台"), (std::set<std::string>{"b"}));
  // Scopes.
  EXPECT_EQ(IdSet("title:治理"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(IdSet("keyword:治理"), (std::set<std::string>{"b"}));
  EXPECT_EQ(IdSet("keyword:安全"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("title:安全"), (std::set<std::string>{}));
  EXPECT_EQ(IdSet("author:王伟"), (std::set<std::string>{"c"}));
  EXPECT_EQ(IdSet("advisor:王伟"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("王伟"), (std::set<std::string>{"a", "c"}));
  EXPECT_EQ(IdSet("institution:北京大学"), (std::set<std::string>{"b"}));
  EXPECT_EQ(IdSet("institution:北京"), (std::set<std::string>{"b"}));
  EXPECT_EQ(IdSet("class:TP3"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("class:tp311.1"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("治理 -class:D"), (std::set<std::string>{"a"}));
  EXPECT_EQ(IdSet("class:K OR class:D"), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(IdSet("class:K OR 平台"), (std::set<std::string>{"b", "c"}));
  // The List filter, ANDed.
  SearchQuery filtered;
  filtered.filter.year_min = 2011;
  filtered.limit = 100;
  absl::StatusOr<SearchPage> page = Search("治理", filtered);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->hits.size(), 1u);
  EXPECT_EQ(page->hits[0].thesis.name(), "theses/b");
}

TEST_P(SearchContractTest, TitleAboveKeywordAboveAbstractPhraseFirstTiesById) {
  Thesis abstract_only = Record("r1-abstract", "图书馆建设", 2010);
  abstract_only.set_abstract_zh("本文研究开放存取与知识服务。");
  Create(abstract_only);
  Thesis keyword = Record("r2-keyword", "图书馆建设", 2010);
  keyword.add_keywords_zh("开放存取");
  Create(keyword);
  Thesis title = Record("r3-title", "开放存取研究", 2010);
  Create(title);
  Thesis title2 = Record("r0-title", "开放存取期刊", 2010);
  Create(title2);
  // The two words far apart versus as one phrase.
  Thesis scattered = Record("s1-scattered", "知识与图书馆", 2010);
  scattered.set_abstract_zh("知识的积累，图书馆的服务。");
  Create(scattered);
  Thesis phrase = Record("s2-phrase", "知识服务与数字图书馆", 2010);
  phrase.set_abstract_zh("讨论知识图书馆的建设。");
  Create(phrase);

  EXPECT_THAT(Ids("开放存取"), ElementsAre("r0-title", "r3-title", "r2-keyword", "r1-abstract"));
  absl::StatusOr<SearchPage> page = Search("开放存取");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 4u);
  EXPECT_EQ(page->hits[0].score, domain::search::kTitleScore);
  EXPECT_EQ(page->hits[2].score, domain::search::kKeywordScore);
  EXPECT_EQ(page->hits[3].score, 0);
  // Both words in both titles; s2 also has them as one phrase, 知识图书馆 (in
  // its abstract).
  // r1 has both words, but not both in its title.
  EXPECT_THAT(Ids("知识 图书馆"), ElementsAre("s2-phrase", "s1-scattered", "r1-abstract"));
}

TEST_P(SearchContractTest, PagesCoverEveryMatchOnceInEachOrder) {
  for (int i = 0; i < 23; ++i) {
    Thesis t = Record(absl::StrCat("p", i), i % 3 == 0 ? "信息检索" : "图书馆", 2000 + i % 5);
    if (i % 3 != 0) t.set_abstract_zh(i % 2 ? "信息检索与服务" : "关于信息检索");
    if (i % 4 == 0) t.add_keywords_zh("信息检索");
    Create(t);
  }
  Create(Record("unrelated", "化学工程", 2001));
  for (SearchOrder order :
       {SearchOrder::kRelevance, SearchOrder::kDegreeYear, SearchOrder::kDownloads}) {
    for (bool descending : {false, true}) {
      SearchQuery big;
      big.order = order;
      big.descending = descending;
      big.limit = 100;
      const std::vector<std::string> whole = Ids("信息检索", big);
      ASSERT_EQ(whole.size(), 23u);
      SearchQuery paged = big;
      paged.limit = 4;
      paged.facet_limit = 0;
      EXPECT_THAT(AllPages("信息检索", paged), ElementsAreArray(whole))
          << static_cast<int>(order) << " " << descending;
    }
  }
  // Year order: by year, ties by id in the same direction.
  SearchQuery by_year;
  by_year.order = SearchOrder::kDegreeYear;
  by_year.descending = true;
  by_year.limit = 100;
  absl::StatusOr<SearchPage> page = Search("信息检索", by_year);
  ASSERT_TRUE(page.ok());
  for (size_t i = 1; i < page->hits.size(); ++i) {
    const Thesis& a = page->hits[i - 1].thesis;
    const Thesis& b = page->hits[i].thesis;
    EXPECT_TRUE(a.degree_year() > b.degree_year() ||
                (a.degree_year() == b.degree_year() && a.name() > b.name()))
        << a.name() << " before " << b.name();
  }
}

TEST_P(SearchContractTest, FacetsCountEveryMatch) {
  std::map<std::string, int> years, institutions;
  for (int i = 0; i < 30; ++i) {
    Thesis t = Record(absl::StrCat("f", i), "知识管理", 2010 + i % 4);
    t.set_institution(i % 3 == 0 ? "北京大学" : (i % 3 == 1 ? "兰州大学" : ""));
    t.set_degree_level(i % 5 == 0 ? thesis::v1::DEGREE_LEVEL_DOCTOR
                                  : thesis::v1::DEGREE_LEVEL_MASTER);
    t.set_discipline(i % 2 ? "管理学" : "图书情报");
    if (i % 6 != 5) t.add_classification_codes(i % 2 ? "G250" : "C931.6");
    if (i % 10 == 0) t.add_classification_codes("g25");  // the same top-level class twice
    if (i % 10 == 1) t.add_classification_codes("TP391");
    Create(t);
  }
  Create(Record("no-match", "化学", 2010));
  SearchQuery q;
  q.facet_limit = 3;
  q.limit = 5;
  absl::StatusOr<SearchPage> page = Search("知识", q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_size, 30);
  EXPECT_EQ(page->hits.size(), 5u);
  ASSERT_EQ(page->facets.size(), 5u);
  auto values = [&](FacetField field) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const SearchFacet& f : page->facets) {
      if (f.field != field) continue;
      for (const FacetCount& c : f.values) out.emplace_back(c.value, c.count);
    }
    return out;
  };
  auto distinct = [&](FacetField field) {
    for (const SearchFacet& f : page->facets) {
      if (f.field == field) return f.distinct_values;
    }
    return int64_t{-1};
  };
  using P = std::pair<std::string, int64_t>;
  // 2010 and 2011: 8 each, 2012 and 2013: 7 each; cut at 3, ties by value.
  EXPECT_THAT(values(FacetField::kDegreeYear),
              ElementsAre(P{"2010", 8}, P{"2011", 8}, P{"2012", 7}));
  EXPECT_EQ(distinct(FacetField::kDegreeYear), 4);
  EXPECT_THAT(values(FacetField::kDegreeLevel), ElementsAre(P{"2", 24}, P{"3", 6}));
  // Records without an institution are not counted.
  // (ties by value, bytewise: 兰 U+5170 before 北 U+5317)
  EXPECT_THAT(values(FacetField::kInstitution), ElementsAre(P{"兰州大学", 10}, P{"北京大学", 10}));
  EXPECT_THAT(values(FacetField::kDiscipline), ElementsAre(P{"图书情报", 15}, P{"管理学", 15}));
  // Every record once per top-level class it has a code in (f0's C931.6
  // and g25: C and G; f10's g25 and G... once).
  int g = 0, c = 0, t = 0;
  for (int i = 0; i < 30; ++i) {
    bool has_g = (i % 6 != 5 && i % 2) || i % 10 == 0;
    bool has_c = i % 6 != 5 && !(i % 2);
    g += has_g;
    c += has_c;
    t += i % 10 == 1;
  }
  ASSERT_EQ(c, 15);
  ASSERT_EQ(g, 13);
  EXPECT_THAT(values(FacetField::kClcTop), ElementsAre(P{"C", c}, P{"G", g}, P{"T", t}));
  // No facets asked: none computed.
  q.facet_limit = 0;
  page = Search("知识", q);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->facets.empty());
}

TEST_P(SearchContractTest, WritesKeepTheIndexCurrent) {
  Create(Record("w", "旧标题", 2010));
  EXPECT_THAT(Ids("旧标题"), ElementsAre("w"));
  absl::StatusOr<Thesis> updated = repo().Update(
      ctx_, "w", "",
      [](Thesis& t) {
        t.set_title_zh("新标题");
        return absl::OkStatus();
      },
      std::nullopt);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(Ids("旧标题"), ElementsAre());
  EXPECT_THAT(Ids("新标题"), ElementsAre("w"));
  ImportItem item;
  item.thesis = Record("", "导入的论文", 2011);
  item.thesis.clear_name();
  item.id = "imported";
  item.import_key = "key-imported";
  ASSERT_TRUE(repo().Import(ctx_, {item}).ok());
  EXPECT_THAT(Ids("导入"), ElementsAre("imported"));
  item.thesis.set_title_zh("改过的论文");
  ASSERT_TRUE(repo().Import(ctx_, {item}).ok());
  EXPECT_THAT(Ids("导入"), ElementsAre());
  EXPECT_THAT(Ids("改过"), ElementsAre("imported"));
  ASSERT_TRUE(repo().Delete(ctx_, "w", "", std::nullopt).ok());
  EXPECT_THAT(Ids("标题"), ElementsAre());
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchContractTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis::storage
