// The search index and the compiled query: the tsvector text PostgreSQL
// reads back unchanged, the tsquery text, and Matches giving the same
// answers as PostgreSQL's `@@` for a table of records and queries (the
// PostgreSQL half skips without THESIS_TEST_DATABASE_URL), and snippets.
#include "server/domain/search_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/domain/clc_notation.h"
#include "server/domain/search_query.h"
#include "server/storage/pg_admin.h"
#include "tests/support/test_env.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain::search {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Record {
  std::string id;
  thesis::v1::Thesis thesis;
};

std::vector<Record> Records() {
  std::vector<Record> records;
  auto add = [&](const char* id) -> thesis::v1::Thesis& {
    records.push_back({id, {}});
    return records.back().thesis;
  };
  {
    thesis::v1::Thesis& t = add("r1");
    t.set_title_zh("电子政务服务质量研究");
    t.set_title_en("Research on E-government Service Quality");
    t.add_keywords_zh("电子政务");
    t.add_keywords_zh("服务质量");
    t.add_keywords_en("e-government");
    t.add_keywords_en("service quality");
    t.set_abstract_zh("本文以兰州市为例，研究电子政务服务质量的评价体系。");
    t.set_abstract_en("This paper studies networks of public service.");
    t.add_authors("王伟");
    t.add_advisors("李明华");
    t.set_institution("兰州大学");
    t.add_classification_codes("D630");
    t.add_classification_codes("TP393.4");
  }
  {
    // Traditional characters.
    thesis::v1::Thesis& t = add("r2");
    t.set_title_zh("電子政務與公共管理");
    t.add_keywords_zh("公共管理");
    t.add_authors("張小明");
    t.add_advisors("王伟");
    t.set_institution("北京大學");
    t.add_classification_codes("D035");
  }
  {
    thesis::v1::Thesis& t = add("r3");
    t.set_title_en("Network Governance in the Big Data Era");
    t.add_keywords_en("big data");
    t.add_keywords_en("network");
    t.set_abstract_en("We study data governance; big ideas come later.");
    t.add_authors("John O'Brien");
    t.set_institution("Lanzhou University");
    t.add_classification_codes("TP311.13");
  }
  {
    // 电子 and 政务, scattered; 李明华 as an author.
    thesis::v1::Thesis& t = add("r4");
    t.set_title_zh("服务型政府的电子化与政务公开");
    t.add_authors("李明华");
    t.set_institution("兰州理工大学");
    t.add_classification_codes("ｔｐ３９１");
  }
  {
    // Phrases that would only match across two values.
    thesis::v1::Thesis& t = add("r5");
    t.set_title_zh("面向农村的电子");
    t.add_keywords_zh("政务公开");
    t.add_keywords_zh("数字电子");
    t.add_keywords_zh("政务平台");
    t.set_title_en("Open big");
    t.add_keywords_en("data sharing");
    t.add_authors("王");
    t.add_authors("伟");
  }
  {
    // A bigram then a word: 联网@1 iot@3.
    thesis::v1::Thesis& t = add("r6");
    t.set_title_zh("物联网IoT安全");
    t.add_keywords_zh("物联网");
    t.add_classification_codes("TN915");
  }
  {
    // Nothing to index: an empty tsvector.
    thesis::v1::Thesis& t = add("r7");
    t.set_title_zh("——");
    t.add_classification_codes("TP301");
  }
  return records;
}

std::string SqlLiteral(absl::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string PrefixCondition(const std::vector<std::string>& prefixes) {
  std::vector<std::string> any;
  for (const std::string& p : prefixes)
    any.push_back(absl::StrCat("starts_with(c, ", SqlLiteral(p), ")"));
  return absl::StrCat("EXISTS (SELECT 1 FROM unnest(codes) AS c WHERE ", absl::StrJoin(any, " OR "),
                      ")");
}

// The ids PostgreSQL finds: the WHERE clause as search_index.h describes it
// for the PostgreSQL backend, over a VALUES table of the records.
absl::StatusOr<std::string> PgMatches(const std::string& url, const std::vector<Record>& records,
                                      const CompiledQuery& q) {
  std::vector<std::string> rows;
  for (const Record& r : records) {
    std::vector<std::string> codes;
    for (const std::string& code : r.thesis.classification_codes()) {
      codes.push_back(SqlLiteral(clc::NormalizeClc(code)));
    }
    rows.push_back(absl::StrCat("(", SqlLiteral(r.id), ", ", SqlLiteral(IndexDocument(r.thesis)),
                                "::tsvector, ARRAY[", absl::StrJoin(codes, ", "), "]::text[])"));
  }
  std::vector<std::string> where = {"true"};
  if (!q.tsquery.empty()) {
    where.push_back(absl::StrCat("doc @@ ", SqlLiteral(q.tsquery), "::tsquery"));
  }
  for (const ClassFilter& f : q.class_filters) {
    std::string cond = PrefixCondition(f.class_prefixes);
    if (!f.tsquery.empty()) {
      absl::StrAppend(&cond, " OR doc @@ ", SqlLiteral(f.tsquery), "::tsquery");
    }
    where.push_back(absl::StrCat("(", cond, ")"));
  }
  for (const std::string& p : q.excluded_class_prefixes) {
    where.push_back(absl::StrCat("NOT ", PrefixCondition({p})));
  }
  return storage::ExecSql(
      url, absl::StrCat("SELECT coalesce(string_agg(id, ',' ORDER BY id), '') FROM (VALUES ",
                        absl::StrJoin(rows, ", "), ") AS d(id, doc, codes) WHERE ",
                        absl::StrJoin(where, " AND ")));
}

std::string MemoryMatches(const std::vector<Record>& records, const Query& q) {
  std::vector<std::string> ids;
  for (const Record& r : records) {
    if (Matches(q, r.thesis)) ids.push_back(r.id);
  }
  return absl::StrJoin(ids, ",");
}

struct MatchCase {
  const char* query;
  const char* ids;  // comma-separated, sorted
};

const MatchCase kMatchCases[] = {
    // Every two-character word of the title 电子政务服务质量研究.
    {"电子", "r1,r2,r4,r5"},
    {"子政", "r1,r2"},
    {"政务", "r1,r2,r4,r5"},
    {"务服", "r1"},
    {"服务", "r1,r4"},
    {"务质", "r1"},
    {"质量", "r1"},
    {"量研", "r1"},
    {"研究", "r1"},
    // Traditional finds simplified and the reverse; never across values (r5).
    {"電子政務", "r1,r2"},
    {"电子政务", "r1,r2"},
    {"北京大学", "r2"},
    // A phrase vs scattered words.
    {"\"电子 政务\"", "r1,r2"},
    {"电子 政务", "r1,r2,r4,r5"},
    {"\"big data\"", "r3"},
    {"big data", "r3,r5"},
    {"\"data big\"", ""},
    // A bigram then a word: `<2>`.
    {"联网IoT", "r6"},
    {"物联网 iot", "r6"},
    {"网IoT", ""},
    // Exclusion, OR.
    {"电子政务 -公共管理", "r1"},
    {"电子 -\"电子政务\"", "r4,r5"},
    {"电子政务 OR governance", "r1,r2,r3"},
    {"公共管理 OR 物联网 OR \"big data\"", "r2,r3,r6"},
    // Scopes.
    {"title:电子政务", "r1,r2"},
    {"keyword:电子政务", "r1"},
    {"keyword:\"big data\"", "r3"},
    {"title:\"big data\"", "r3"},
    {"title:network", "r3"},
    {"keyword:network", "r3"},
    {"title:评价体系", ""},
    {"评价体系", "r1"},
    {"author:王伟", "r1"},
    {"advisor:王伟", "r2"},
    {"王伟", "r1,r2"},
    {"author:王", "r5"},
    {"author:李明华", "r4"},
    {"advisor:李明华", "r1"},
    {"author:o'brien", "r3"},
    {"institution:兰州大学", "r1"},
    {"institution:兰州", "r1,r4"},
    {"兰州", "r1,r4"},
    {"institution:lanzhou", "r3"},
    {"institution:北京大學", "r2"},
    {"-author:王伟 电子", "r2,r4,r5"},
    // English stemming.
    {"networks", "r1,r3"},
    {"governing", "r1,r3"},  // E-government: govern too
    // Full-width queries.
    {"ｔｉｔｌｅ：电子政务", "r1,r2"},
    {"ＮＥＴＷＯＲＫＳ", "r1,r3"},
    {"＂ｂｉｇ　ｄａｔａ＂", "r3"},
    // class: prefixes (codes normalized: ｔｐ３９１ is TP391).
    {"class:TP3", "r1,r3,r4,r7"},
    {"class:TP3 电子政务", "r1"},
    {"电子政务 -class:D035", "r1"},
    {"class:D OR governance", "r1,r2,r3"},
    {"class:TP3 OR class:TN", "r1,r3,r4,r6,r7"},
    {"class:TP3 -network", "r4,r7"},
    {"-电子 class:D", ""},
    {"class:TP39 -class:TP393", "r4"},
};

TEST(SearchIndex, MatchesAgreesWithPostgres) {
  std::vector<Record> records = Records();
  std::string url = thesis::testing::TestDatabaseAdminUrl();
  for (const MatchCase& c : kMatchCases) {
    SCOPED_TRACE(c.query);
    absl::StatusOr<Query> q = ParseQuery(c.query);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_EQ(MemoryMatches(records, *q), c.ids);
    absl::StatusOr<CompiledQuery> compiled = CompileTsQuery(*q);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    if (url.empty()) continue;
    absl::StatusOr<std::string> pg = PgMatches(url, records, *compiled);
    ASSERT_TRUE(pg.ok()) << pg.status() << "\ntsquery: " << compiled->tsquery;
    EXPECT_EQ(*pg, c.ids) << "tsquery: " << compiled->tsquery;
  }
  if (url.empty()) GTEST_SKIP() << thesis::testing::kNoDatabaseMessage << " (Matches was checked)";
}

TEST(SearchIndex, DocumentText) {
  std::vector<Record> records = Records();
  const thesis::v1::Thesis& r1 = records[0].thesis;
  std::string doc = IndexDocument(r1);
  // Title bigrams at weight A from position 1, in order.
  EXPECT_THAT(doc, HasSubstr("'电子':1A,"));
  EXPECT_THAT(doc, HasSubstr("'子政':2A,"));
  EXPECT_THAT(doc, HasSubstr("'研究':9A,"));
  // Names tagged, weight D (printed as nothing); a two-character name is its
  // own bigram, a three-character one also has its whole name.
  EXPECT_THAT(doc, HasSubstr("'au|王伟':"));
  EXPECT_THAT(doc, HasSubstr("'ad|李明华':"));
  EXPECT_THAT(doc, HasSubstr("'ad|李明':"));
  EXPECT_THAT(doc, HasSubstr("'in|兰州大学':"));
  // And plain, weight D, for unscoped terms (tokens only, no whole name).
  EXPECT_THAT(doc, HasSubstr("'李明':"));
  EXPECT_THAT(doc, HasSubstr("'兰州':65,74C"));
  EXPECT_THAT(doc, Not(HasSubstr("'李明华'")));
  EXPECT_THAT(doc, Not(HasSubstr("'兰州大学'")));
  // Empty record, empty text.
  EXPECT_EQ(IndexDocument(records[6].thesis), "");

  thesis::v1::Thesis t;
  t.set_title_en("Don't");
  t.add_authors("O'Brien\\X  Smith");
  doc = IndexDocument(t);
  EXPECT_THAT(doc, HasSubstr("'au|o''brien\\\\x smith':"));
}

TEST(SearchIndex, DocumentRoundTripsThroughPostgres) {
  std::vector<thesis::v1::Thesis> theses;
  for (const Record& r : Records()) theses.push_back(r.thesis);
  {
    thesis::v1::Thesis t;
    t.set_title_en("Don't quote me: it's \"fine\"");
    t.add_authors("O'Brien\\X  Smith");
    t.add_advisors("'\\'");
    theses.push_back(t);
  }
  std::string long_doc;
  {
    // Past PostgreSQL's limits: 300 times one word (256 positions kept), and
    // positions beyond 16383 (clamped).
    thesis::v1::Thesis t;
    t.set_title_zh("长文");
    std::string abstract;
    for (int i = 0; i < 300; ++i) absl::StrAppend(&abstract, "governance ");
    for (int i = 0; i < 9000; ++i) absl::StrAppend(&abstract, "w", i, " ");
    t.set_abstract_en(abstract);
    theses.push_back(t);
    long_doc = IndexDocument(t);
    EXPECT_THAT(long_doc, HasSubstr(":16383C"));
    EXPECT_THAT(long_doc, Not(HasSubstr(":16384")));
  }
  {
    // Lexemes PostgreSQL would refuse (longer than 2046 bytes) are left out.
    thesis::v1::Thesis t;
    t.set_title_en(absl::StrCat(std::string(3000, 'x'), " short"));
    t.set_institution(std::string(700, 'y') + " " + std::string(700, 'y') + " " +
                      std::string(700, 'y'));
    std::string doc = IndexDocument(t);
    EXPECT_THAT(doc, HasSubstr("'short':2A"));
    EXPECT_THAT(doc, Not(HasSubstr("xxx")));
    EXPECT_THAT(doc, HasSubstr("'in|yyy"));
    EXPECT_THAT(doc, Not(HasSubstr("y y")));  // the whole name: too long
    theses.push_back(t);
  }
  std::string url = thesis::testing::TestDatabaseAdminUrl();
  if (url.empty()) GTEST_SKIP() << thesis::testing::kNoDatabaseMessage;
  for (const thesis::v1::Thesis& t : theses) {
    std::string doc = IndexDocument(t);
    SCOPED_TRACE(doc.substr(0, 200));
    absl::StatusOr<std::string> back =
        storage::ExecSql(url, absl::StrCat("SELECT ", SqlLiteral(doc), "::tsvector::text"));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, doc);
  }
  // At most 256 positions of one lexeme, as PostgreSQL keeps them.
  absl::StatusOr<std::string> n = storage::ExecSql(
      url, absl::StrCat("SELECT cardinality(positions) FROM unnest(", SqlLiteral(long_doc),
                        "::tsvector) WHERE lexeme = 'govern'"));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, "256");
}

TEST(SearchIndex, LongRecordsAgreeWithPostgres) {
  // Phrases at the clamped end of a long abstract: both sides see the same
  // (truncated) positions.
  std::vector<Record> records;
  thesis::v1::Thesis t;
  t.set_title_zh("长文");
  std::string abstract;
  for (int i = 0; i < 9000; ++i) absl::StrAppend(&abstract, "w", i, " ");
  absl::StrAppend(&abstract, "final words here");
  t.set_abstract_en(abstract);
  t.add_authors("王伟");
  records.push_back({"long", t});
  std::string url = thesis::testing::TestDatabaseAdminUrl();
  for (const char* query :
       {"\"final words\"", "final words", "author:王伟", "\"w1 w2\"", "w8999"}) {
    SCOPED_TRACE(query);
    absl::StatusOr<Query> q = ParseQuery(query);
    ASSERT_TRUE(q.ok());
    std::string memory = MemoryMatches(records, *q);
    if (url.empty()) continue;
    absl::StatusOr<std::string> pg = PgMatches(url, records, *CompileTsQuery(*q));
    ASSERT_TRUE(pg.ok()) << pg.status();
    EXPECT_EQ(*pg, memory);
  }
  // Names come before the abstract, so they are never clamped.
  EXPECT_TRUE(Matches(*ParseQuery("author:王伟"), t));
  EXPECT_TRUE(Matches(*ParseQuery("\"w1 w2\""), t));
  EXPECT_FALSE(Matches(*ParseQuery("\"final words\""), t));
  EXPECT_TRUE(Matches(*ParseQuery("final words"), t));
  if (url.empty()) GTEST_SKIP() << thesis::testing::kNoDatabaseMessage;
}

struct TsQueryCase {
  const char* query;
  const char* tsquery;
};

TEST(SearchIndex, CompilesTsQuery) {
  const TsQueryCase cases[] = {
      {"电子政务", "(('电子' <-> '子政' <-> '政务'))"},
      {"title:\"电子 政务\"", "(('电子':A <2> '政务':A))"},
      {"keyword:联网IoT", "(('联网':B <2> 'iot':B))"},
      {"author:王伟 -advisor:李明", "(('au|王伟')) & !(('ad|李明'))"},
      {"institution:x OR title:y", "((('in|x')) | (('y':A)))"},
      {"author:o'brien", "(('au|o''brien'))"},
  };
  for (const TsQueryCase& c : cases) {
    SCOPED_TRACE(c.query);
    absl::StatusOr<CompiledQuery> compiled = CompileTsQuery(*ParseQuery(c.query));
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    EXPECT_EQ(compiled->tsquery, c.tsquery);
    EXPECT_TRUE(compiled->class_filters.empty());
    EXPECT_TRUE(compiled->excluded_class_prefixes.empty());
  }
}

TEST(SearchIndex, ClassTermsAreFilters) {
  absl::StatusOr<CompiledQuery> q =
      CompileTsQuery(*ParseQuery("class:TP3 OR class:TN x class:D OR title:y -class:TP39"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->tsquery, "(('x'))");
  ASSERT_EQ(q->class_filters.size(), 2u);
  EXPECT_THAT(q->class_filters[0].class_prefixes, ::testing::ElementsAre("TP3", "TN"));
  EXPECT_EQ(q->class_filters[0].tsquery, "");
  EXPECT_THAT(q->class_filters[1].class_prefixes, ::testing::ElementsAre("D"));
  EXPECT_EQ(q->class_filters[1].tsquery, "(('y':A))");
  EXPECT_THAT(q->excluded_class_prefixes, ::testing::ElementsAre("TP39"));

  // Only class: terms: no tsquery at all.
  q = CompileTsQuery(*ParseQuery("class:TP3"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->tsquery, "");
}

TEST(SearchIndex, RejectsTreesTheParserCannotMake) {
  Query empty;
  EXPECT_FALSE(CompileTsQuery(empty).ok());
  Query only_excluded = *ParseQuery("x");
  only_excluded.clauses[0].any_of[0].negated = true;
  EXPECT_FALSE(CompileTsQuery(only_excluded).ok());
  EXPECT_FALSE(Matches(only_excluded, thesis::v1::Thesis()));
  Query no_tokens = *ParseQuery("x");
  no_tokens.clauses[0].any_of[0].tokens.clear();
  EXPECT_FALSE(CompileTsQuery(no_tokens).ok());
}

SearchSnippet SnippetOf(const char* query, const thesis::v1::Thesis& t, int max_chars = 80) {
  absl::StatusOr<Query> q = ParseQuery(query);
  EXPECT_TRUE(q.ok()) << q.status();
  return Snippet(*q, t, max_chars);
}

TEST(SearchIndex, SnippetPrefersTitleThenKeywordsThenAbstract) {
  std::vector<Record> records = Records();
  const thesis::v1::Thesis& r1 = records[0].thesis;
  SearchSnippet s = SnippetOf("电子政务", r1);
  EXPECT_EQ(s.field, SnippetField::kTitle);
  EXPECT_EQ(s.html, "<em>电子政务</em>服务质量研究");

  s = SnippetOf("keyword:服务质量", r1);
  EXPECT_EQ(s.field, SnippetField::kKeywords);
  EXPECT_EQ(s.html, "电子政务；<em>服务质量</em>；e-government；service quality");

  s = SnippetOf("评价体系", r1);
  EXPECT_EQ(s.field, SnippetField::kAbstract);
  EXPECT_EQ(s.html, "本文以兰州市为例，研究电子政务服务质量的<em>评价体系</em>。");

  // The value with the most matches: the English title here.
  s = SnippetOf("service quality", r1);
  EXPECT_EQ(s.field, SnippetField::kTitle);
  EXPECT_EQ(s.html, "Research on E-government <em>Service</em> <em>Quality</em>");

  // Names are not snippeted; excluded terms are not marked.
  EXPECT_EQ(SnippetOf("author:王伟", r1).field, SnippetField::kNone);
  s = SnippetOf("研究 -评价体系", r1);
  EXPECT_EQ(s.html, "电子政务服务质量<em>研究</em>");
}

TEST(SearchIndex, SnippetMarksTheOriginalText) {
  std::vector<Record> records = Records();
  // Traditional record, simplified query: the record's own characters.
  SearchSnippet s = SnippetOf("电子政务", records[1].thesis);
  EXPECT_EQ(s.html, "<em>電子政務</em>與公共管理");
  // And the reverse: a traditional query marks the simplified record.
  EXPECT_EQ(SnippetOf("電子政務", records[0].thesis).html, "<em>电子政务</em>服务质量研究");

  thesis::v1::Thesis t;
  t.set_title_zh("ＡＢＣ研究");
  t.set_title_en("A <b> & \"data\"");
  EXPECT_EQ(SnippetOf("abc", t).html, "<em>ＡＢＣ</em>研究");
  EXPECT_EQ(SnippetOf("data", t).html, "A &lt;b&gt; &amp; &quot;<em>data</em>&quot;");
  // Invalid UTF-8 is dropped from the snippet as from the index.
  thesis::v1::Thesis broken;
  broken.set_title_zh("电子\xFF政务");
  EXPECT_EQ(SnippetOf("电子政务", broken).html, "<em>电子政务</em>");
  // Overlapping matches are one span.
  EXPECT_EQ(SnippetOf("电子政务 政务服务", records[0].thesis).html,
            "<em>电子政务服务</em>质量研究");
}

TEST(SearchIndex, SnippetWindowIsAroundTheDensestMatches) {
  thesis::v1::Thesis t;
  t.set_title_zh("无关");
  t.set_abstract_zh(
      "数据一开始出现。这里是很长的一段没有关键词的文字用来填充窗口之外的内容，"
      "然后数据治理与数据共享和数据安全集中出现在这里，之后又是很长的一段没有关键词的填充文字。");
  SearchSnippet s = SnippetOf("数据", t, 20);
  EXPECT_EQ(s.field, SnippetField::kAbstract);
  EXPECT_EQ(s.html, "…容，然后<em>数据</em>治理与<em>数据</em>共享和<em>数据</em>安全集中…");

  // At the start: no leading mark.
  s = SnippetOf("开始", t, 10);
  EXPECT_EQ(s.html, "数据一<em>开始</em>出现。这里…");
}

}  // namespace
}  // namespace thesis::domain::search
