// The search query parser: every syntax form, precedence, the tokens of each
// term, and every error with its position.
#include "server/domain/search_query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace thesis::domain::search {
namespace {

using ::testing::HasSubstr;

struct ParseCase {
  const char* query;
  const char* tree;  // DebugString
};

TEST(SearchQuery, Parses) {
  const ParseCase cases[] = {
      // Words: implicit AND; Chinese words are bigram phrases.
      {"电子政务", "AND(word(电子政务)[电子@0 子政@1 政务@2])"},
      {"电子政务 governance",
       "AND(word(电子政务)[电子@0 子政@1 政务@2], word(governance)[govern@0])"},
      {"  Networks\t\tGOVERNANCE  ", "AND(word(Networks)[network@0], word(GOVERNANCE)[govern@0])"},
      {"COVID-19", "AND(word(COVID-19)[covid@0 19@1])"},
      {"法", "AND(word(法)[法@0])"},
      // Traditional characters are searched as simplified.
      {"電子政務", "AND(word(電子政務)[电子@0 子政@1 政务@2])"},
      // Phrases.
      {"\"big data\"", "AND(phrase(big data)[big@0 data@1])"},
      {"\"电子 政务\" 研究", "AND(phrase(电子 政务)[电子@0 政务@2], word(研究)[研究@0])"},
      {"abc\"def\"", "AND(word(abc)[abc@0], phrase(def)[def@0])"},
      {"\"a\"\"b\"", "AND(phrase(a)[a@0], phrase(b)[b@0])"},
      {"\"OR\"", "AND(phrase(OR)[or@0])"},
      // Exclusions.
      {"电子政务 -综述", "AND(word(电子政务)[电子@0 子政@1 政务@2], -word(综述)[综述@0])"},
      {"data -\"case study\"", "AND(word(data)[data@0], -phrase(case study)[case@0 studi@1])"},
      {"data -title:survey", "AND(word(data)[data@0], -title:word(survey)[survey@0])"},
      {"data -OR", "AND(word(data)[data@0], -word(OR)[or@0])"},
      {"data --x", "AND(word(data)[data@0], -word(-x)[x@0])"},
      // OR binds tighter than the implicit AND.
      {"a b OR c", "AND(word(a)[a@0], OR(word(b)[b@0], word(c)[c@0]))"},
      {"a OR b c", "AND(OR(word(a)[a@0], word(b)[b@0]), word(c)[c@0])"},
      {"a OR b OR c", "AND(OR(word(a)[a@0], word(b)[b@0], word(c)[c@0]))"},
      {"a OR b c OR d", "AND(OR(word(a)[a@0], word(b)[b@0]), OR(word(c)[c@0], word(d)[d@0]))"},
      {"\"big data\" OR 大数据",
       "AND(OR(phrase(big data)[big@0 data@1], word(大数据)[大数@0 数据@1]))"},
      {"a OR\"b\"", "AND(OR(word(a)[a@0], phrase(b)[b@0]))"},
      // `or` is a word.
      {"this or that", "AND(word(this)[this@0], word(or)[or@0], word(that)[that@0])"},
      // Field scopes.
      {"title:电子政务", "AND(title:word(电子政务)[电子@0 子政@1 政务@2])"},
      {"author:郑 advisor:王", "AND(author:word(郑)[郑@0], advisor:word(王)[王@0])"},
      {"keyword:\"big data\"", "AND(keyword:phrase(big data)[big@0 data@1])"},
      {"institution:兰州大学", "AND(institution:word(兰州大学)[兰州@0 州大@1 大学@2])"},
      {"Title:x TITLE:y", "AND(title:word(x)[x@0], title:word(y)[y@0])"},
      {"title: \"big data\"", "AND(title:phrase(big data)[big@0 data@1])"},
      {"title:a:b", "AND(title:word(a:b)[a@0 b@1])"},
      {"title:x OR author:x", "AND(OR(title:word(x)[x@0], author:word(x)[x@0]))"},
      // class: a CLC prefix, normalized.
      {"class:TP3", "AND(class:prefix(TP3))"},
      {"class:ｔｐ３１１．１", "AND(class:prefix(TP311.1))"},
      {"class:D6* 电子政务", "AND(class:prefix(D6), word(电子政务)[电子@0 子政@1 政务@2])"},
      {"class:\"TP 3\"", "AND(class:prefix(TP3))"},
      {"x -class:B", "AND(word(x)[x@0], -class:prefix(B))"},
      {"class:TP3 OR class:TN", "AND(OR(class:prefix(TP3), class:prefix(TN)))"},
      // Full-width syntax.
      {"ｔｉｔｌｅ：电子政务　－综述",
       "AND(title:word(电子政务)[电子@0 子政@1 政务@2], -word(综述)[综述@0])"},
      {"＂big data＂", "AND(phrase(big data)[big@0 data@1])"},
      {"“电子政务”", "AND(phrase(电子政务)[电子@0 子政@1 政务@2])"},
      {"a ＯＲ b", "AND(OR(word(a)[a@0], word(b)[b@0]))"},
      {"ＡＢＣ", "AND(word(ＡＢＣ)[abc@0])"},
      // Words with nothing to search for are ignored: a colon after an
      // unknown name followed by a space is punctuation.
      {"Governance: a study",
       "AND(word(Governance:)[govern@0], word(a)[a@0], word(study)[studi@0])"},
      {"science & technology", "AND(word(science)[scienc@0], word(technology)[technolog@0])"},
      {"电子政务 —— 兰州", "AND(word(电子政务)[电子@0 子政@1 政务@2], word(兰州)[兰州@0])"},
      {"a - b -- c", "AND(word(a)[a@0], word(b)[b@0], word(c)[c@0])"},
      {"10:30", "AND(word(10:30)[10@0 30@1])"},
      // Invalid UTF-8 in a word is dropped from its tokens (and the raw text
      // keeps it).
      {"ab\xff"
       "cd",
       "AND(word(ab\xff"
       "cd)[abcd@0])"},
  };
  for (const ParseCase& c : cases) {
    absl::StatusOr<Query> query = ParseQuery(c.query);
    ASSERT_TRUE(query.ok()) << c.query << ": " << query.status();
    EXPECT_EQ(DebugString(*query), c.tree) << c.query;
    // The canonical form parses to the same tree.
    const std::string canonical = ToQueryString(*query);
    absl::StatusOr<Query> again = ParseQuery(canonical);
    ASSERT_TRUE(again.ok()) << c.query << " -> " << canonical << ": " << again.status();
    EXPECT_EQ(DebugString(*again), c.tree) << c.query << " -> " << canonical;
  }
}

TEST(SearchQuery, TermFields) {
  absl::StatusOr<Query> query = ParseQuery("x -title:\"Big Data\"");
  ASSERT_TRUE(query.ok()) << query.status();
  ASSERT_EQ(query->clauses.size(), 2u);
  ASSERT_EQ(query->clauses[1].any_of.size(), 1u);
  const Term& term = query->clauses[1].any_of[0];
  EXPECT_EQ(term.field, Field::kTitle);
  EXPECT_TRUE(term.negated);
  EXPECT_EQ(term.kind, Term::Kind::kPhrase);
  EXPECT_EQ(term.raw, "Big Data");
  EXPECT_EQ(term.position, 3);
  EXPECT_EQ(DebugString(term.tokens), "big@0 data@1");
  EXPECT_EQ(term.tokens[0].kind, TokenKind::kLatinStem);
}

TEST(SearchQuery, CanonicalForm) {
  absl::StatusOr<Query> query =
      ParseQuery("ＴＩＴＬＥ：  \"big data\"  a ＯＲ b  -class:ｔｐ３*  & “x”");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(ToQueryString(*query), "title:\"big data\" a OR b -class:TP3 \"x\"");
}

struct ErrorCase {
  const char* query;
  int position;
  const char* message;  // a part of it
};

TEST(SearchQuery, Errors) {
  const ErrorCase cases[] = {
      {"", 1, "empty query"},
      {"   \t ", 1, "empty query"},
      {"　", 1, "empty query"},
      {"!!! ——", 1, "nothing to search for"},
      {"电子政务 \"big data", 6, "unclosed quote"},
      {"\"", 1, "unclosed quote"},
      {"a ＂b", 3, "unclosed quote"},
      {"电子 \"\"", 4, "empty phrase"},
      {"\"   \"", 1, "empty phrase"},
      {"\"!!!\"", 1, "phrase \"!!!\" has nothing to search for"},
      {"OR a", 1, "OR has no term before it"},
      {"a OR", 3, "OR has no term after it"},
      {"a OR   ", 3, "OR has no term after it"},
      {"a OR OR b", 6, "OR follows OR"},
      {"a ＯＲ ＯＲ b", 6, "OR follows OR"},
      {"title:", 1, "`title:` has no word or phrase after it"},
      {"x author:  ", 3, "`author:` has no word or phrase after it"},
      {"x -class:", 4, "`class:` has no word or phrase after it"},
      {"title:OR x", 1, "`title:` is followed by OR"},
      {"title:-x", 7, "put `-` before the field"},
      {"title:!!!", 1, "`!!!` has nothing to search for"},
      {"foo:bar", 1, "unknown field `foo:`; the fields are title:, author:"},
      {"a -Subject:\"x\"", 4, "unknown field `subject:`"},
      {"http://example.org", 1, "unknown field `http:`"},
      {"class:电子", 1, "`class:` needs the start of a Chinese Library Classification code"},
      {"class:3TP", 1, "`class:` needs"},
      {"class:[B019]", 1, "`class:` needs"},
      {"-综述", 1, "the query only excludes"},
      {"-a -\"b c\" -title:d", 1, "the query only excludes"},
      {"-- -a", 4, "the query only excludes"},
      {"-a OR b", 1, "an excluded term cannot be combined with OR"},
      {"a OR -b", 6, "an excluded term cannot be combined with OR"},
      {"& OR a", 1, "`&` has nothing to search for"},
      {"a OR &", 6, "`&` has nothing to search for"},
  };
  for (const ErrorCase& c : cases) {
    absl::StatusOr<Query> query = ParseQuery(c.query);
    ASSERT_FALSE(query.ok()) << c.query << " parsed as " << DebugString(*query);
    EXPECT_EQ(query.status().code(), absl::StatusCode::kInvalidArgument) << c.query;
    EXPECT_THAT(query.status().message(), HasSubstr(c.message)) << c.query;
    EXPECT_THAT(std::string(query.status().message()),
                ::testing::StartsWith("position " + std::to_string(c.position) + ": "))
        << c.query;
    const std::optional<ParseError> error = ParseErrorOf(query.status());
    ASSERT_TRUE(error.has_value()) << c.query;
    EXPECT_EQ(error->position, c.position) << c.query;
    EXPECT_THAT(error->message, HasSubstr(c.message)) << c.query;
  }
}

TEST(SearchQuery, Limits) {
  // 1000 characters are fine, 1001 are not (characters, not bytes).
  std::string longest;
  for (int i = 0; i < 500; ++i) longest += "电 ";
  ASSERT_EQ(longest.size(), 2000u);
  EXPECT_FALSE(ParseQuery(longest).ok());  // 500 terms: too many, but not too long
  EXPECT_THAT(std::string(ParseQuery(longest).status().message()), HasSubstr("too many terms"));
  const std::string thousand = "\"" + std::string(998, 'a') + "\"";
  EXPECT_TRUE(ParseQuery(thousand).ok()) << ParseQuery(thousand).status();
  absl::StatusOr<Query> too_long = ParseQuery(thousand + "x");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(ParseErrorOf(too_long.status())->position, 1001);
  EXPECT_THAT(too_long.status().message(), HasSubstr("too long: 1001 characters, at most 1000"));

  // 32 terms are fine (OR'ed ones count), the 33rd is the error.
  std::string terms;
  for (int i = 0; i < 32; ++i) terms += i % 2 == 0 ? "ab OR " : "cd ";
  terms.resize(terms.size() - 1);
  EXPECT_TRUE(ParseQuery(terms).ok()) << ParseQuery(terms).status();
  absl::StatusOr<Query> too_many = ParseQuery(terms + " x");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(ParseErrorOf(too_many.status())->position, static_cast<int>(terms.size()) + 2);
  EXPECT_THAT(too_many.status().message(), HasSubstr("too many terms: at most 32"));
}

// Positions count characters of the original query, full-width and invalid
// bytes included.
TEST(SearchQuery, ErrorPositionsCountCharacters) {
  absl::StatusOr<Query> query = ParseQuery("電子政務　ＯＲ");
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(ParseErrorOf(query.status())->position, 6);
  query = ParseQuery("\xff\xfe \"x");
  ASSERT_FALSE(query.ok());
  EXPECT_EQ(ParseErrorOf(query.status())->position, 4);
}

TEST(SearchQuery, ParseErrorOfOtherStatuses) {
  EXPECT_FALSE(ParseErrorOf(absl::OkStatus()).has_value());
  EXPECT_FALSE(ParseErrorOf(absl::InvalidArgumentError("x")).has_value());
}

}  // namespace
}  // namespace thesis::domain::search
