// Tests of server/domain/list_query.h and server/domain/page_token.h.
#include "server/domain/list_query.h"

#include <climits>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/errors.h"
#include "server/domain/page_token.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;
using thesis::v1::Thesis;

std::vector<std::string> StatusFields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolations(status)) fields.push_back(v.field);
  return fields;
}

ThesisFilter MustParse(absl::string_view text) {
  absl::StatusOr<ThesisFilter> filter = ParseThesisFilter(text);
  EXPECT_TRUE(filter.ok()) << text << ": " << filter.status();
  return filter.ok() ? *filter : ThesisFilter();
}

void ExpectFilterError(absl::string_view text) {
  SCOPED_TRACE(std::string(text));
  absl::StatusOr<ThesisFilter> filter = ParseThesisFilter(text);
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorReason(filter.status()), "INVALID_FILTER");
  EXPECT_THAT(StatusFields(filter.status()), ElementsAre("filter"));
}

// ---------------------------------------------------------------------------
// ParseThesisFilter

TEST(ParseThesisFilterTest, EmptyFilterFiltersNothing) {
  for (absl::string_view text : {"", "   ", "\t\n"}) {
    ThesisFilter f = MustParse(text);
    EXPECT_FALSE(f.institution.has_value());
    EXPECT_FALSE(f.discipline.has_value());
    EXPECT_FALSE(f.author.has_value());
    EXPECT_FALSE(f.advisor.has_value());
    EXPECT_FALSE(f.degree_level.has_value());
    EXPECT_FALSE(f.year_min.has_value());
    EXPECT_FALSE(f.year_max.has_value());
    EXPECT_FALSE(f.class_code.has_value());
    EXPECT_FALSE(f.class_code_is_prefix);
  }
}

TEST(ParseThesisFilterTest, EveryField) {
  ThesisFilter f = MustParse(
      "institution = \"兰州大学\" AND discipline = \"计算机软件与理论\" AND author = \"张三\" "
      "AND advisor = \"李四\" AND degree_level = DOCTOR AND degree_year >= 2005 "
      "AND degree_year <= 2010 AND classification_code = \"TP311.13\"");
  EXPECT_THAT(f.institution, Optional(Eq("兰州大学")));
  EXPECT_THAT(f.discipline, Optional(Eq("计算机软件与理论")));
  EXPECT_THAT(f.author, Optional(Eq("张三")));
  EXPECT_THAT(f.advisor, Optional(Eq("李四")));
  EXPECT_THAT(f.degree_level, Optional(Eq(static_cast<int>(thesis::v1::DEGREE_LEVEL_DOCTOR))));
  EXPECT_THAT(f.year_min, Optional(Eq(2005)));
  EXPECT_THAT(f.year_max, Optional(Eq(2010)));
  EXPECT_THAT(f.class_code, Optional(Eq("TP311.13")));
  EXPECT_FALSE(f.class_code_is_prefix);
}

TEST(ParseThesisFilterTest, SingleFields) {
  EXPECT_THAT(MustParse("institution=\"北京大学\"").institution, Optional(Eq("北京大学")));
  EXPECT_THAT(MustParse("discipline = \"Physics\"").discipline, Optional(Eq("Physics")));
  EXPECT_THAT(MustParse("author = \"Alice\"").author, Optional(Eq("Alice")));
  EXPECT_THAT(MustParse("advisor = \"Bob\"").advisor, Optional(Eq("Bob")));
  ThesisFilter f = MustParse("  author = \"Alice\"  ");
  EXPECT_FALSE(f.institution.has_value());
  EXPECT_FALSE(f.advisor.has_value());
}

TEST(ParseThesisFilterTest, StringEscapes) {
  EXPECT_THAT(MustParse(R"(author = "a\"b")").author, Optional(Eq("a\"b")));
  EXPECT_THAT(MustParse(R"(author = "a\\b")").author, Optional(Eq("a\\b")));
  EXPECT_THAT(MustParse(R"(author = "AND = OR")").author, Optional(Eq("AND = OR")));
  EXPECT_THAT(MustParse(R"(author = "")").author, Optional(Eq("")));
}

TEST(ParseThesisFilterTest, DegreeYearOperators) {
  ThesisFilter eq = MustParse("degree_year = 2010");
  EXPECT_THAT(eq.year_min, Optional(Eq(2010)));
  EXPECT_THAT(eq.year_max, Optional(Eq(2010)));

  ThesisFilter lt = MustParse("degree_year < 2010");
  EXPECT_FALSE(lt.year_min.has_value());
  EXPECT_THAT(lt.year_max, Optional(Eq(2009)));

  ThesisFilter le = MustParse("degree_year <= 2010");
  EXPECT_FALSE(le.year_min.has_value());
  EXPECT_THAT(le.year_max, Optional(Eq(2010)));

  ThesisFilter gt = MustParse("degree_year > 2010");
  EXPECT_THAT(gt.year_min, Optional(Eq(2011)));
  EXPECT_FALSE(gt.year_max.has_value());

  ThesisFilter ge = MustParse("degree_year>=2010");
  EXPECT_THAT(ge.year_min, Optional(Eq(2010)));
  EXPECT_FALSE(ge.year_max.has_value());
}

TEST(ParseThesisFilterTest, DegreeYearComparisonsTightenTheRange) {
  ThesisFilter f = MustParse(
      "degree_year >= 2000 AND degree_year > 2004 AND degree_year >= 2001 AND degree_year <= 2015 "
      "AND degree_year < 2012 AND degree_year <= 2020");
  EXPECT_THAT(f.year_min, Optional(Eq(2005)));
  EXPECT_THAT(f.year_max, Optional(Eq(2011)));

  // Order does not matter.
  ThesisFilter g = MustParse("degree_year < 2012 AND degree_year <= 2020 AND degree_year > 2004");
  EXPECT_THAT(g.year_min, Optional(Eq(2005)));
  EXPECT_THAT(g.year_max, Optional(Eq(2011)));

  // = inside a range narrows it to that year.
  ThesisFilter h = MustParse("degree_year >= 2000 AND degree_year = 2008 AND degree_year <= 2010");
  EXPECT_THAT(h.year_min, Optional(Eq(2008)));
  EXPECT_THAT(h.year_max, Optional(Eq(2008)));

  // Contradictions parse but match nothing.
  ThesisFilter empty = MustParse("degree_year = 2010 AND degree_year = 2012");
  EXPECT_THAT(empty.year_min, Optional(Eq(2012)));
  EXPECT_THAT(empty.year_max, Optional(Eq(2010)));
  Thesis t;
  for (int year : {2010, 2011, 2012}) {
    t.set_degree_year(year);
    EXPECT_FALSE(MatchesFilter(empty, t)) << year;
  }
}

// `degree_year > 2147483647` once computed INT_MAX + 1 and matched every
// record; years outside 0-9999 are now rejected.
TEST(ParseThesisFilterTest, DegreeYearBoundsDoNotOverflow) {
  Thesis t;
  t.set_degree_year(2010);
  absl::StatusOr<ThesisFilter> gt = ParseThesisFilter("degree_year > 2147483647");
  if (gt.ok()) {
    EXPECT_FALSE(MatchesFilter(*gt, t)) << "degree_year > INT_MAX must match nothing";
  } else {
    EXPECT_EQ(ErrorReason(gt.status()), "INVALID_FILTER");
  }
  absl::StatusOr<ThesisFilter> lt = ParseThesisFilter("degree_year < -2147483648");
  if (lt.ok()) {
    EXPECT_FALSE(MatchesFilter(*lt, t)) << "degree_year < INT_MIN must match nothing";
  } else {
    EXPECT_EQ(ErrorReason(lt.status()), "INVALID_FILTER");
  }
}

TEST(ParseThesisFilterTest, ClassificationPrefixMustBeACodeOrEndAtADot) {
  for (const char* ok : {"TP*", "T*", "TP311.*", "D630*"}) {
    EXPECT_TRUE(ParseThesisFilter(absl::StrCat("classification_code = \"", ok, "\"")).ok()) << ok;
  }
  for (const char* bad : {"tp*", "1*", "B-*", "*", "TP 3*"}) {
    EXPECT_FALSE(ParseThesisFilter(absl::StrCat("classification_code = \"", bad, "\"")).ok())
        << bad;
  }
}

TEST(ParseThesisFilterTest, DegreeLevelWithAndWithoutPrefix) {
  const int doctor = thesis::v1::DEGREE_LEVEL_DOCTOR;
  const int pro_master = thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER;
  EXPECT_THAT(MustParse("degree_level = DOCTOR").degree_level, Optional(Eq(doctor)));
  EXPECT_THAT(MustParse("degree_level = DEGREE_LEVEL_DOCTOR").degree_level, Optional(Eq(doctor)));
  EXPECT_THAT(MustParse("degree_level = \"DOCTOR\"").degree_level, Optional(Eq(doctor)));
  EXPECT_THAT(MustParse("degree_level = \"DEGREE_LEVEL_DOCTOR\"").degree_level,
              Optional(Eq(doctor)));
  EXPECT_THAT(MustParse("degree_level = PROFESSIONAL_MASTER").degree_level,
              Optional(Eq(pro_master)));
  EXPECT_THAT(MustParse("degree_level = \"DEGREE_LEVEL_PROFESSIONAL_MASTER\"").degree_level,
              Optional(Eq(pro_master)));
  EXPECT_THAT(MustParse("degree_level = BACHELOR").degree_level,
              Optional(Eq(static_cast<int>(thesis::v1::DEGREE_LEVEL_BACHELOR))));
  EXPECT_THAT(MustParse("degree_level = OTHER").degree_level,
              Optional(Eq(static_cast<int>(thesis::v1::DEGREE_LEVEL_OTHER))));
}

TEST(ParseThesisFilterTest, BadDegreeLevel) {
  ExpectFilterError("degree_level = UNSPECIFIED");
  ExpectFilterError("degree_level = DEGREE_LEVEL_UNSPECIFIED");
  ExpectFilterError("degree_level = PHD");
  ExpectFilterError("degree_level = \"\"");
  ExpectFilterError("degree_level = 3");
  ExpectFilterError("degree_level > DOCTOR");
  ExpectFilterError("degree_level = DOCTOR AND degree_level = MASTER");
}

TEST(ParseThesisFilterTest, ClassificationCode) {
  ThesisFilter exact = MustParse("classification_code = \"TP391\"");
  EXPECT_THAT(exact.class_code, Optional(Eq("TP391")));
  EXPECT_FALSE(exact.class_code_is_prefix);

  ThesisFilter prefix = MustParse("classification_code = \"TP3*\"");
  EXPECT_THAT(prefix.class_code, Optional(Eq("TP3")));
  EXPECT_TRUE(prefix.class_code_is_prefix);

  ThesisFilter letters = MustParse("classification_code = \"TP*\"");
  EXPECT_THAT(letters.class_code, Optional(Eq("TP")));
  EXPECT_TRUE(letters.class_code_is_prefix);

  ThesisFilter one = MustParse("classification_code = \"D*\"");
  EXPECT_THAT(one.class_code, Optional(Eq("D")));
  EXPECT_TRUE(one.class_code_is_prefix);

  ThesisFilter dotted = MustParse("classification_code = \"TP311.1*\"");
  EXPECT_THAT(dotted.class_code, Optional(Eq("TP311.1")));
  EXPECT_TRUE(dotted.class_code_is_prefix);
}

TEST(ParseThesisFilterTest, BadClassificationCode) {
  ExpectFilterError("classification_code = \"TP;391\"");
  ExpectFilterError("classification_code = \"TP311.\"");
  ExpectFilterError("classification_code = \"*\"");
  ExpectFilterError("classification_code = \"\"");
  ExpectFilterError("classification_code = \"TP 3*\"");
  ExpectFilterError("classification_code = TP391");
  ExpectFilterError("classification_code = \"TP3*\" AND classification_code = \"D*\"");
}

TEST(ParseThesisFilterTest, Errors) {
  // Unknown field.
  ExpectFilterError("title = \"x\"");
  ExpectFilterError("source.url = \"x\"");
  ExpectFilterError("Institution = \"兰州大学\"");
  // OR and other connectives.
  ExpectFilterError("institution = \"a\" OR author = \"b\"");
  ExpectFilterError("institution = \"a\" and author = \"b\"");
  ExpectFilterError("NOT institution = \"a\"");
  ExpectFilterError("(institution = \"a\")");
  ExpectFilterError("institution = \"a\" author = \"b\"");
  // Unterminated string.
  ExpectFilterError("institution = \"兰州大学");
  ExpectFilterError("institution = \"abc\\\"");
  // Missing value / operator / field.
  ExpectFilterError("institution =");
  ExpectFilterError("institution = AND author = \"b\"");
  ExpectFilterError("institution");
  ExpectFilterError("= \"a\"");
  ExpectFilterError("institution = \"a\" AND");
  ExpectFilterError("AND institution = \"a\"");
  ExpectFilterError("institution = = \"a\"");
  // Repeated field.
  ExpectFilterError("institution = \"a\" AND institution = \"b\"");
  ExpectFilterError("institution = \"a\" AND institution = \"a\"");
  ExpectFilterError("author = \"a\" AND author = \"b\"");
  // Bad operator for a string field.
  ExpectFilterError("institution < \"a\"");
  ExpectFilterError("institution >= \"a\"");
  ExpectFilterError("institution : \"a\"");
  ExpectFilterError("institution != \"a\"");
  ExpectFilterError("author > \"a\"");
  // Unquoted string value.
  ExpectFilterError("institution = lzu");
  ExpectFilterError("institution = 2010");
  // Bad degree_year value or operator.
  ExpectFilterError("degree_year = \"2010\"");
  ExpectFilterError("degree_year = abc");
  ExpectFilterError("degree_year != 2010");
  ExpectFilterError("degree_year : 2010");
  ExpectFilterError("degree_year = -");
  ExpectFilterError("degree_year = 99999999999");
  // Unexpected characters and bad text.
  ExpectFilterError("institution = 'a'");
  ExpectFilterError("institution ! \"a\"");
  ExpectFilterError("institution = \"a\" ; DROP TABLE theses");
  ExpectFilterError("institution = \"\xFF\"");
  ExpectFilterError("author = \"" + std::string(300, 'a') + "\"");
  ExpectFilterError(std::string(5000, ' '));
}

TEST(ParseThesisFilterTest, UnknownFieldMessageNamesTheField) {
  absl::StatusOr<ThesisFilter> f = ParseThesisFilter("colour = \"red\"");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), ::testing::HasSubstr("colour"));
}

// ---------------------------------------------------------------------------
// ParseOrderBy

TEST(ParseOrderByTest, DefaultIsCreateTimeAscending) {
  for (absl::string_view text : {"", "  "}) {
    ListQuery q;
    q.order_key = OrderKey::kTitle;
    q.descending = true;
    ASSERT_TRUE(ParseOrderBy(text, &q).ok());
    EXPECT_EQ(q.order_key, OrderKey::kCreateTime);
    EXPECT_FALSE(q.descending);
  }
}

TEST(ParseOrderByTest, EachKey) {
  struct Case {
    const char* text;
    OrderKey key;
    bool desc;
  };
  for (const Case& c :
       {Case{"create_time", OrderKey::kCreateTime, false},
        Case{"create_time desc", OrderKey::kCreateTime, true},
        Case{"degree_year", OrderKey::kDegreeYear, false},
        Case{"degree_year desc", OrderKey::kDegreeYear, true},
        Case{"  degree_year   desc ", OrderKey::kDegreeYear, true},
        Case{"title", OrderKey::kTitle, false}, Case{"title desc", OrderKey::kTitle, true},
        Case{"title asc", OrderKey::kTitle, false}}) {
    ListQuery q;
    absl::Status status = ParseOrderBy(c.text, &q);
    ASSERT_TRUE(status.ok()) << c.text << ": " << status;
    EXPECT_EQ(q.order_key, c.key) << c.text;
    EXPECT_EQ(q.descending, c.desc) << c.text;
  }
}

TEST(ParseOrderByTest, Errors) {
  for (const char* text :
       {"name", "etag", "Title", "desc", "institution desc", "title descending", "title DESC",
        "title desc extra", "title degree_year desc", "title,degree_year"}) {
    ListQuery q;
    absl::Status status = ParseOrderBy(text, &q);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(StatusFields(status), ElementsAre("order_by")) << text;
  }
}

// ---------------------------------------------------------------------------
// NormalizePageSize

TEST(NormalizePageSizeTest, DefaultsCapsAndRejects) {
  EXPECT_EQ(*NormalizePageSize(0), 50);
  EXPECT_EQ(*NormalizePageSize(1), 1);
  EXPECT_EQ(*NormalizePageSize(50), 50);
  EXPECT_EQ(*NormalizePageSize(1000), 1000);
  EXPECT_EQ(*NormalizePageSize(1001), 1000);
  EXPECT_EQ(*NormalizePageSize(INT_MAX), kMaxPageSize);

  for (int bad : {-1, -50, INT_MIN}) {
    absl::StatusOr<int> size = NormalizePageSize(bad);
    ASSERT_FALSE(size.ok()) << bad;
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(StatusFields(size.status()), ElementsAre("page_size"));
  }
}

// ---------------------------------------------------------------------------
// MatchesFilter, SortTitle, PositionOf, ComparePositions

Thesis SampleThesis() {
  Thesis t;
  t.set_title_zh("基于深度学习的中文分词研究");
  t.add_authors("张三");
  t.add_authors("Alice");
  t.add_advisors("李四");
  t.set_institution("兰州大学");
  t.set_discipline("计算机软件与理论");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  t.set_degree_year(2011);
  t.add_classification_codes("TP391");
  t.add_classification_codes("TP311.13");
  return t;
}

bool Matches(absl::string_view filter, const Thesis& t) {
  absl::StatusOr<ThesisFilter> f = ParseThesisFilter(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() && MatchesFilter(*f, t);
}

TEST(MatchesFilterTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(MatchesFilter(ThesisFilter(), SampleThesis()));
  EXPECT_TRUE(MatchesFilter(ThesisFilter(), Thesis()));
}

TEST(MatchesFilterTest, EachCondition) {
  const Thesis t = SampleThesis();
  EXPECT_TRUE(Matches("institution = \"兰州大学\"", t));
  EXPECT_FALSE(Matches("institution = \"兰州\"", t));
  EXPECT_TRUE(Matches("discipline = \"计算机软件与理论\"", t));
  EXPECT_FALSE(Matches("discipline = \"物理\"", t));
  EXPECT_TRUE(Matches("author = \"Alice\"", t));
  EXPECT_TRUE(Matches("author = \"张三\"", t));
  EXPECT_FALSE(Matches("author = \"alice\"", t));
  EXPECT_TRUE(Matches("advisor = \"李四\"", t));
  EXPECT_FALSE(Matches("advisor = \"张三\"", t));
  EXPECT_TRUE(Matches("degree_level = MASTER", t));
  EXPECT_FALSE(Matches("degree_level = DOCTOR", t));
  EXPECT_TRUE(Matches("degree_year = 2011", t));
  EXPECT_TRUE(Matches("degree_year >= 2011 AND degree_year <= 2011", t));
  EXPECT_FALSE(Matches("degree_year > 2011", t));
  EXPECT_FALSE(Matches("degree_year < 2011", t));
  EXPECT_TRUE(Matches("classification_code = \"TP311.13\"", t));
  EXPECT_FALSE(Matches("classification_code = \"TP311\"", t));
  EXPECT_TRUE(Matches("classification_code = \"TP311*\"", t));
  EXPECT_TRUE(Matches("classification_code = \"TP*\"", t));
  EXPECT_TRUE(Matches("classification_code = \"T*\"", t));
  EXPECT_FALSE(Matches("classification_code = \"D*\"", t));
  EXPECT_FALSE(Matches("classification_code = \"TP312*\"", t));
}

TEST(MatchesFilterTest, ConditionsAreAnded) {
  const Thesis t = SampleThesis();
  EXPECT_TRUE(
      Matches("institution = \"兰州大学\" AND degree_level = MASTER AND author = \"Alice\"", t));
  EXPECT_FALSE(Matches("institution = \"兰州大学\" AND degree_level = DOCTOR", t));
}

TEST(MatchesFilterTest, UnknownYearIsOutsideEveryRange) {
  Thesis t = SampleThesis();
  t.set_degree_year(0);
  EXPECT_FALSE(Matches("degree_year >= 1900", t));
  EXPECT_TRUE(Matches("institution = \"兰州大学\"", t));
}

TEST(SortTitleTest, PrefersChineseTitle) {
  Thesis t;
  t.set_title_en("English");
  EXPECT_EQ(SortTitle(t), "English");
  t.set_title_zh("中文");
  EXPECT_EQ(SortTitle(t), "中文");
}

TEST(PositionOfTest, KeyDependsOnOrder) {
  Thesis t = SampleThesis();
  t.mutable_create_time()->set_seconds(100);
  t.mutable_create_time()->set_nanos(5000);
  SortPosition created = PositionOf(t, "abc", OrderKey::kCreateTime);
  EXPECT_EQ(created.id, "abc");
  ASSERT_TRUE(std::holds_alternative<int64_t>(created.key));
  EXPECT_EQ(std::get<int64_t>(created.key), 100'000'005);

  SortPosition year = PositionOf(t, "abc", OrderKey::kDegreeYear);
  ASSERT_TRUE(std::holds_alternative<int64_t>(year.key));
  EXPECT_EQ(std::get<int64_t>(year.key), 2011);

  SortPosition title = PositionOf(t, "abc", OrderKey::kTitle);
  ASSERT_TRUE(std::holds_alternative<std::string>(title.key));
  EXPECT_EQ(std::get<std::string>(title.key), "基于深度学习的中文分词研究");
}

TEST(ComparePositionsTest, OrdersByKeyThenId) {
  const SortPosition a{int64_t{1}, "b"};
  const SortPosition b{int64_t{2}, "a"};
  const SortPosition a2{int64_t{1}, "c"};
  EXPECT_LT(ComparePositions(a, b), 0);
  EXPECT_GT(ComparePositions(b, a), 0);
  EXPECT_LT(ComparePositions(a, a2), 0);
  EXPECT_GT(ComparePositions(a2, a), 0);
  EXPECT_EQ(ComparePositions(a, a), 0);
  EXPECT_EQ(ComparePositions(a, SortPosition{int64_t{1}, "b"}), 0);
  EXPECT_LT(ComparePositions(SortPosition{int64_t{-5}, "z"}, SortPosition{int64_t{0}, "a"}), 0);

  const SortPosition s1{std::string("apple"), "2"};
  const SortPosition s2{std::string("banana"), "1"};
  const SortPosition s3{std::string("apple"), "3"};
  EXPECT_LT(ComparePositions(s1, s2), 0);
  EXPECT_GT(ComparePositions(s2, s1), 0);
  EXPECT_LT(ComparePositions(s1, s3), 0);
  EXPECT_EQ(ComparePositions(s3, s3), 0);
  // Bytewise, as PostgreSQL's "C" collation orders.
  EXPECT_LT(
      ComparePositions(SortPosition{std::string("Z"), "x"}, SortPosition{std::string("a"), "x"}),
      0);
  EXPECT_LT(
      ComparePositions(SortPosition{std::string("abc"), "x"}, SortPosition{std::string("中"), "x"}),
      0);
}

// ---------------------------------------------------------------------------
// PageTokenCodec

void ExpectBadToken(const absl::StatusOr<SortPosition>& decoded) {
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(decoded.status()), ElementsAre("page_token"));
  EXPECT_EQ(ErrorReason(decoded.status()), "INVALID_PAGE_TOKEN");
}

constexpr char kQuery[] = "filter=institution = \"兰州大学\"\norder_by=degree_year desc";

TEST(PageTokenCodecTest, RoundTripsIntKeys) {
  PageTokenCodec codec("test-secret");
  for (int64_t key : {int64_t{0}, int64_t{2011}, int64_t{-1}, int64_t{1'650'000'000'123'456},
                      INT64_MIN, INT64_MAX}) {
    const SortPosition in{key, "thesis-42"};
    const std::string token = codec.Encode(kQuery, in);
    EXPECT_FALSE(token.empty());
    absl::StatusOr<SortPosition> out = codec.Decode(kQuery, token);
    ASSERT_TRUE(out.ok()) << key << ": " << out.status();
    ASSERT_TRUE(std::holds_alternative<int64_t>(out->key)) << key;
    EXPECT_EQ(std::get<int64_t>(out->key), key);
    EXPECT_EQ(out->id, "thesis-42");
  }
}

TEST(PageTokenCodecTest, RoundTripsStringKeys) {
  PageTokenCodec codec("test-secret");
  for (const std::string& key : {std::string("基于深度学习的中文分词研究"), std::string(""),
                                 std::string("Title with \"quotes\""), std::string(1500, 't')}) {
    const SortPosition in{key, "a-b-c"};
    const std::string token = codec.Encode(kQuery, in);
    absl::StatusOr<SortPosition> out = codec.Decode(kQuery, token);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE(std::holds_alternative<std::string>(out->key));
    EXPECT_EQ(std::get<std::string>(out->key), key);
    EXPECT_EQ(out->id, "a-b-c");
  }
}

TEST(PageTokenCodecTest, TokenIsWebSafe) {
  PageTokenCodec codec("test-secret");
  const std::string token = codec.Encode(kQuery, SortPosition{std::string("标题"), "x"});
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
        << token;
  }
}

TEST(PageTokenCodecTest, EncodingTheSamePositionTwiceGivesDifferentTokens) {
  PageTokenCodec codec("test-secret");
  const SortPosition pos{int64_t{7}, "same"};
  EXPECT_NE(codec.Encode(kQuery, pos), codec.Encode(kQuery, pos));
}

TEST(PageTokenCodecTest, ReplicasSharingTheSecretAcceptEachOthersTokens) {
  PageTokenCodec a("shared-secret");
  PageTokenCodec b("shared-secret");
  const std::string token = a.Encode(kQuery, SortPosition{int64_t{5}, "id-5"});
  absl::StatusOr<SortPosition> out = b.Decode(kQuery, token);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->id, "id-5");
}

TEST(PageTokenCodecTest, RejectsTokenOfAnotherQuery) {
  PageTokenCodec codec("test-secret");
  const std::string token = codec.Encode(kQuery, SortPosition{int64_t{5}, "id-5"});
  ExpectBadToken(
      codec.Decode("filter=institution = \"北京大学\"\norder_by=degree_year desc", token));
  ExpectBadToken(codec.Decode("", token));
  ExpectBadToken(codec.Decode(std::string(kQuery) + " ", token));
  EXPECT_TRUE(codec.Decode(kQuery, token).ok());
}

TEST(PageTokenCodecTest, RejectsTamperedToken) {
  PageTokenCodec codec("test-secret");
  const std::string token = codec.Encode(kQuery, SortPosition{std::string("标题"), "id-5"});
  ASSERT_TRUE(codec.Decode(kQuery, token).ok());

  // Flip one character in the middle.
  std::string tampered = token;
  const size_t mid = token.size() / 2;
  tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
  ExpectBadToken(codec.Decode(kQuery, tampered));

  // Any single character (the last may carry only padding bits, so it is
  // left out).
  for (size_t i = 0; i + 1 < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    absl::StatusOr<SortPosition> decoded = codec.Decode(kQuery, t);
    EXPECT_FALSE(decoded.ok()) << "flipping character " << i << " went unnoticed";
  }

  // Truncated or extended.
  ExpectBadToken(codec.Decode(kQuery, token.substr(0, token.size() - 4)));
  ExpectBadToken(codec.Decode(kQuery, token + "AAAA"));
}

TEST(PageTokenCodecTest, RejectsTokenOfAnotherSecret) {
  PageTokenCodec a("secret-a");
  PageTokenCodec b("secret-b");
  const std::string token = a.Encode(kQuery, SortPosition{int64_t{5}, "id-5"});
  ASSERT_TRUE(a.Decode(kQuery, token).ok());
  ExpectBadToken(b.Decode(kQuery, token));
}

TEST(PageTokenCodecTest, EmptySecretGivesAProcessLocalRandomKey) {
  PageTokenCodec a("");
  PageTokenCodec b("");
  const std::string token = a.Encode(kQuery, SortPosition{int64_t{5}, "id-5"});
  absl::StatusOr<SortPosition> out = a.Decode(kQuery, token);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->id, "id-5");
  ExpectBadToken(b.Decode(kQuery, token));
}

TEST(PageTokenCodecTest, RejectsGarbage) {
  PageTokenCodec codec("test-secret");
  ExpectBadToken(codec.Decode(kQuery, ""));
  ExpectBadToken(codec.Decode(kQuery, "not a token"));
  ExpectBadToken(codec.Decode(kQuery, "!!!!"));
  ExpectBadToken(codec.Decode(kQuery, "AAAA"));
  ExpectBadToken(codec.Decode(kQuery, "令牌"));
  ExpectBadToken(codec.Decode(kQuery, std::string(5000, 'A')));
  ExpectBadToken(codec.Decode(kQuery, absl::WebSafeBase64Escape(std::string(28, '\0'))));
  ExpectBadToken(codec.Decode(kQuery, absl::WebSafeBase64Escape(std::string(100, 'x'))));
  // Standard base64 of a plausible-looking plaintext cursor.
  ExpectBadToken(codec.Decode(kQuery, absl::Base64Escape("last_id:thesis-42 int_key:5")));
}

TEST(PageTokenCodecTest, TokenDoesNotRevealThePosition) {
  PageTokenCodec codec("test-secret");
  const std::string id = "very-secret-thesis-id-0123456789";
  const std::string key = "SecretSortTitle";
  const std::string token = codec.Encode(kQuery, SortPosition{key, id});
  EXPECT_FALSE(absl::StrContains(token, id));
  EXPECT_FALSE(absl::StrContains(token, key));

  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  EXPECT_FALSE(absl::StrContains(raw, id));
  EXPECT_FALSE(absl::StrContains(raw, key));
  EXPECT_FALSE(absl::StrContains(raw, "兰州大学"));
  // A long id cannot be hidden by chance: not even a 6-byte piece of it shows.
  for (size_t i = 0; i + 6 <= id.size(); ++i) {
    EXPECT_FALSE(absl::StrContains(raw, id.substr(i, 6))) << id.substr(i, 6);
  }
}

}  // namespace
}  // namespace thesis::domain
