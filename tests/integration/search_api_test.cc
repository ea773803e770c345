// SearchTheses through the client library against the real server, on both
// storage backends: request validation (the query's position in the error),
// snippets, facet labels, page tokens, and writes through the API showing up
// in search at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/storage/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/in_process_server.h"
#include "tests/support/test_env.h"

namespace thesis {
namespace {

using testing::BackendKind;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using thesis::v1::SearchThesesRequest;
using thesis::v1::SearchThesesResponse;
using thesis::v1::Thesis;

class SearchApiTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_search_api");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    ServerConfig config;
    config.workers = 4;
    config.required_schema_version = storage::RequiredSchemaVersion();
    auto server = testing::InProcessServer::Start(std::move(*backend), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  client::ThesisClient& client() { return server_->client(); }

  std::string Create(const std::string& id, const std::string& title, int year,
                     const std::string& code = "D630",
                     const std::string& abstract = "本文研究<政府>信息公开与电子政务建设。") {
    Thesis t;
    t.set_title_zh(title);
    t.add_authors("郑忠锋");
    t.set_institution(year % 2 ? "兰州大学" : "北京大学");
    t.set_degree_level(year % 3 ? thesis::v1::DEGREE_LEVEL_MASTER
                                : thesis::v1::DEGREE_LEVEL_DOCTOR);
    t.set_degree_year(year);
    t.set_abstract_zh(abstract);
    t.add_classification_codes(code);
    absl::StatusOr<Thesis> created = client().CreateThesis(t, id);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->name() : "";
  }

  absl::StatusOr<SearchThesesResponse> Search(const std::string& query) {
    SearchThesesRequest r;
    r.set_query(query);
    return client().SearchTheses(r);
  }

  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_P(SearchApiTest, MalformedRequestsAreInvalidArgumentNamingTheField) {
  auto expect_field = [&](const SearchThesesRequest& r, const std::string& field,
                          const std::string& message_part) {
    absl::StatusOr<SearchThesesResponse> got = client().SearchTheses(r);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << r.DebugString();
    EXPECT_THAT(client::ViolatedFields(got.status()), Contains(field)) << got.status();
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(message_part));
  };
  SearchThesesRequest r;
  expect_field(r, "query", "required");
  r.set_query("电子政务 \"unclosed");
  expect_field(r, "query", "position 6");
  r.set_query("title:");
  expect_field(r, "query", "position");
  r.set_query("a OR");
  expect_field(r, "query", "position");
  r.set_query(std::string(1001, 'a'));
  expect_field(r, "query", "position");
  r.set_query("电子");
  r.set_page_size(-1);
  expect_field(r, "page_size", "negative");
  r.set_page_size(0);
  r.set_facet_size(-2);
  expect_field(r, "facet_size", "negative");
  r.set_facet_size(0);
  r.set_order_by("score");
  expect_field(r, "order_by", "relevance");
  r.set_order_by("relevance desc");
  expect_field(r, "order_by", "best first");
  r.set_order_by("");
  r.set_filter("title = \"x\"");
  expect_field(r, "filter", "");
  r.set_filter("");
  r.set_page_token("forged");
  expect_field(r, "page_token", "");
}

TEST_P(SearchApiTest, HitsCarrySnippetsAndTheResultCarriesLabelledFacets) {
  const std::string a = Create("a", "电子政务与政府治理", 2009);
  const std::string b = Create("b", "图书馆服务", 2012, "TP391");
  Create("c", "化学工程", 2012, "TQ", "催化剂的制备。");
  absl::StatusOr<SearchThesesResponse> got = Search("政府");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->hits_size(), 2);
  EXPECT_EQ(got->hits(0).thesis().name(), a);  // title match first
  EXPECT_EQ(got->hits(0).snippet_field(), thesis::v1::SNIPPET_FIELD_TITLE);
  EXPECT_EQ(got->hits(0).snippet(), "电子政务与<em>政府</em>治理");
  EXPECT_EQ(got->hits(0).score(), 4);
  EXPECT_EQ(got->hits(1).thesis().name(), b);
  EXPECT_EQ(got->hits(1).snippet_field(), thesis::v1::SNIPPET_FIELD_ABSTRACT);
  EXPECT_THAT(got->hits(1).snippet(), HasSubstr("&lt;<em>政府</em>&gt;"));
  EXPECT_EQ(got->total_size(), 2);
  ASSERT_EQ(got->facets_size(), 5);
  EXPECT_EQ(got->facets(0).field(), thesis::v1::FACET_FIELD_DEGREE_YEAR);
  EXPECT_EQ(got->facets(1).field(), thesis::v1::FACET_FIELD_DEGREE_LEVEL);
  ASSERT_EQ(got->facets(1).values_size(), 1);
  EXPECT_EQ(got->facets(1).values(0).value(), "MASTER");
  EXPECT_EQ(got->facets(1).values(0).label(), "硕士");
  EXPECT_EQ(got->facets(1).values(0).count(), 2);
  const thesis::v1::Facet& clc = got->facets(4);
  EXPECT_EQ(clc.field(), thesis::v1::FACET_FIELD_CLC_CLASS);
  ASSERT_EQ(clc.values_size(), 2);
  EXPECT_EQ(clc.values(0).value(), "D");
  EXPECT_EQ(clc.values(0).label(), "政治、法律");
  EXPECT_EQ(clc.values(1).value(), "T");
  EXPECT_EQ(clc.values(1).label(), "工业技术");
  // A facet value works as a filter.
  SearchThesesRequest r;
  r.set_query("政府");
  r.set_filter(absl::StrCat("degree_level = ", got->facets(1).values(0).value(),
                            " AND classification_code = \"TP*\""));
  got = client().SearchTheses(r);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->hits_size(), 1);
  EXPECT_EQ(got->hits(0).thesis().name(), b);
}

TEST_P(SearchApiTest, PageTokensWalkTheWholeResultAndBelongToTheirQuery) {
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i)
    names.push_back(Create(absl::StrCat("p", 10 + i), "信息公开", 2000 + i));
  SearchThesesRequest r;
  r.set_query("信息公开");
  r.set_order_by("degree_year desc");
  r.set_page_size(5);
  std::vector<std::string> seen;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    r.set_page_token(token);
    absl::StatusOr<SearchThesesResponse> got = client().SearchTheses(r);
    ASSERT_TRUE(got.ok()) << got.status();
    for (const auto& hit : got->hits()) seen.push_back(hit.thesis().name());
    token = got->next_page_token();
    if (token.empty()) break;
    // A token of this query is refused for another one.
    SearchThesesRequest other = r;
    other.set_query("电子政务");
    other.set_page_token(token);
    EXPECT_EQ(client().SearchTheses(other).status().code(), absl::StatusCode::kInvalidArgument);
  }
  std::vector<std::string> expected(names.rbegin(), names.rend());  // newest first
  EXPECT_EQ(seen, expected);
}

TEST_P(SearchApiTest, UpdatesAndDeletesThroughTheApiShowAtOnce) {
  const std::string a = Create("u", "旧的标题", 2010);
  ASSERT_EQ(Search("旧的")->hits_size(), 1);
  Thesis change;
  change.set_name(a);
  change.set_title_zh("新的题目");
  google::protobuf::FieldMask mask;
  mask.add_paths("title_zh");
  ASSERT_TRUE(client().UpdateThesis(change, mask).ok());
  EXPECT_EQ(Search("旧的")->hits_size(), 0);
  EXPECT_EQ(Search("題目")->hits_size(), 1);  // traditional query, simplified record
  ASSERT_TRUE(client().DeleteThesis(a).ok());
  EXPECT_EQ(Search("题目")->hits_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchApiTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis
