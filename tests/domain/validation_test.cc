// Tests of server/domain/thesis_validation.h and server/domain/thesis_update.h.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/common/errors.h"
#include "server/domain/thesis_update.h"
#include "server/domain/thesis_validation.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {
namespace {

using ::google::protobuf::FieldMask;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using thesis::v1::Thesis;

// A record that passes every rule.
Thesis ValidThesis() {
  Thesis t;
  t.set_title_zh("基于深度学习的中文分词研究");
  t.set_title_en("Research on Chinese Word Segmentation Based on Deep Learning");
  t.add_authors("张三");
  t.add_advisors("李四");
  t.add_advisors("王五");
  t.set_institution("兰州大学");
  t.set_discipline("计算机软件与理论");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  t.set_degree_year(2011);
  t.set_abstract_zh("本文研究了中文分词……");
  t.set_abstract_en("This thesis studies Chinese word segmentation.");
  t.add_keywords_zh("中文分词");
  t.add_keywords_zh("深度学习");
  t.add_keywords_en("word segmentation");
  t.mutable_online_publication()->set_contributor("兰州大学");
  t.mutable_online_publication()->set_year(2011);
  t.mutable_online_publication()->set_issue("S1");
  t.add_classification_codes("TP391");
  t.add_classification_codes("TP311.13");
  t.mutable_source()->set_database("CMFD");
  t.mutable_source()->set_record_id("1011123456.nh");
  t.mutable_source()->set_url(
      "https://kns.cnki.net/kcms/detail/detail.aspx?filename=1011123456.nh");
  t.set_language("zh");
  t.set_legacy_download_count(123);
  return t;
}

std::vector<std::string> Fields(const std::vector<FieldViolation>& violations) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : violations) fields.push_back(v.field);
  return fields;
}

// The fields ValidateThesis complains about, with the "thesis." prefix.
std::vector<std::string> ViolationFields(const Thesis& thesis) {
  std::vector<FieldViolation> violations;
  ValidateThesis(thesis, "thesis.", &violations);
  return Fields(violations);
}

std::vector<std::string> StatusFields(const absl::Status& status) {
  return Fields(FieldViolations(status));
}

FieldMask Mask(std::vector<std::string> paths) {
  FieldMask mask;
  for (const std::string& p : paths) mask.add_paths(p);
  return mask;
}

// ---------------------------------------------------------------------------
// IsValidText

TEST(IsValidTextTest, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidText(""));
  EXPECT_TRUE(IsValidText("plain ASCII, with punctuation!"));
  EXPECT_TRUE(IsValidText("兰州大学硕士学位论文"));
  EXPECT_TRUE(IsValidText("混合 mixed 文本 text"));
  EXPECT_TRUE(IsValidText("\xC2\xA9"));          // U+00A9, smallest-looking 2-byte form
  EXPECT_TRUE(IsValidText("\xDF\xBF"));          // U+07FF, largest 2-byte
  EXPECT_TRUE(IsValidText("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidText("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidText("\xEE\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(IsValidText("\xF0\x9F\x98\x80"));  // U+1F600 (emoji), 4-byte
  EXPECT_TRUE(IsValidText("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidText("\xF0\xA0\x80\x80"));  // U+20000, CJK extension B
}

TEST(IsValidTextTest, RejectsInvalidBytes) {
  EXPECT_FALSE(IsValidText("\xFF"));
  EXPECT_FALSE(IsValidText("\xFE"));
  EXPECT_FALSE(
      IsValidText("abc\xFF"
                  "def"));
  EXPECT_FALSE(IsValidText("\x80"));          // stray continuation byte
  EXPECT_FALSE(IsValidText("\xBF"));          // stray continuation byte
  EXPECT_FALSE(IsValidText("\xC3"));          // truncated 2-byte sequence
  EXPECT_FALSE(IsValidText("\xE5\xAD"));      // truncated 3-byte sequence
  EXPECT_FALSE(IsValidText("\xF0\x9F\x98"));  // truncated 4-byte sequence
  EXPECT_FALSE(
      IsValidText("\xE5\xAD"
                  "a"));  // bad continuation byte
  EXPECT_FALSE(
      IsValidText("\xC3"
                  "A"));                              // bad continuation byte
  EXPECT_FALSE(IsValidText("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(IsValidText("\xF4\x90\x80\x80"));      // U+110000, beyond Unicode
  EXPECT_FALSE(IsValidText("\xF5\x80\x80\x80"));      // lead byte F5
  EXPECT_FALSE(IsValidText("\xE5\xAD\xA6\xE4\xBD"));  // valid char then truncated
}

TEST(IsValidTextTest, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidText("\xC0\xAF"));          // '/' in 2 bytes
  EXPECT_FALSE(IsValidText("\xC0\x80"));          // NUL in 2 bytes ("modified UTF-8")
  EXPECT_FALSE(IsValidText("\xC1\xBF"));          // U+007F in 2 bytes
  EXPECT_FALSE(IsValidText("\xE0\x80\xAF"));      // '/' in 3 bytes
  EXPECT_FALSE(IsValidText("\xE0\x9F\xBF"));      // U+07FF in 3 bytes
  EXPECT_FALSE(IsValidText("\xF0\x80\x80\xAF"));  // '/' in 4 bytes
  EXPECT_FALSE(IsValidText("\xF0\x8F\xBF\xBF"));  // U+FFFF in 4 bytes
}

TEST(IsValidTextTest, RejectsSurrogates) {
  EXPECT_FALSE(IsValidText("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(IsValidText("\xED\xAD\xBF"));              // U+DB7F
  EXPECT_FALSE(IsValidText("\xED\xB0\x80"));              // U+DC00
  EXPECT_FALSE(IsValidText("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(IsValidText("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair for U+1F600
}

TEST(IsValidTextTest, RejectsNul) {
  EXPECT_FALSE(IsValidText(absl::string_view("\0", 1)));
  EXPECT_FALSE(IsValidText(absl::string_view("ab\0cd", 5)));
  EXPECT_FALSE(IsValidText(absl::string_view("学位\0", 7)));
}

// ---------------------------------------------------------------------------
// IsValidThesisId, ParseThesisName, ThesisName

TEST(IsValidThesisIdTest, AcceptsValidIds) {
  EXPECT_TRUE(IsValidThesisId("a"));
  EXPECT_TRUE(IsValidThesisId("0"));
  EXPECT_TRUE(IsValidThesisId("abc-123"));
  EXPECT_TRUE(IsValidThesisId("1011123456"));
  EXPECT_TRUE(IsValidThesisId("a--b"));
  EXPECT_TRUE(IsValidThesisId(std::string(kMaxIdLength, 'x')));
}

TEST(IsValidThesisIdTest, RejectsInvalidIds) {
  EXPECT_FALSE(IsValidThesisId(""));
  EXPECT_FALSE(IsValidThesisId(std::string(kMaxIdLength + 1, 'x')));
  EXPECT_FALSE(IsValidThesisId("-abc"));
  EXPECT_FALSE(IsValidThesisId("abc-"));
  EXPECT_FALSE(IsValidThesisId("-"));
  EXPECT_FALSE(IsValidThesisId("ABC"));
  EXPECT_FALSE(IsValidThesisId("abC"));
  EXPECT_FALSE(IsValidThesisId("a_b"));
  EXPECT_FALSE(IsValidThesisId("a.b"));
  EXPECT_FALSE(IsValidThesisId("a b"));
  EXPECT_FALSE(IsValidThesisId("a/b"));
  EXPECT_FALSE(IsValidThesisId("论文"));
  EXPECT_FALSE(IsValidThesisId(absl::string_view("a\0b", 3)));
}

TEST(ParseThesisNameTest, ReturnsId) {
  absl::StatusOr<std::string> id = ParseThesisName("theses/abc-123", "name");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "abc-123");
}

TEST(ParseThesisNameTest, ThesisNameRoundTrips) {
  EXPECT_EQ(ThesisName("abc-123"), "theses/abc-123");
  absl::StatusOr<std::string> id = ParseThesisName(ThesisName("x1"), "name");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "x1");
}

TEST(ParseThesisNameTest, ErrorNamesTheGivenField) {
  const std::vector<std::string> bad = {
      "",
      "abc",
      "theses/",
      "thesis/abc",
      "books/abc",
      "/theses/abc",
      "theses/ABC",
      "theses/abc/def",
      "theses/-abc",
      "theses/abc-",
      "Theses/abc",
      "theses/" + std::string(kMaxIdLength + 1, 'a'),
  };
  for (const std::string& name : bad) {
    SCOPED_TRACE(name);
    for (absl::string_view field : {"name", "thesis.name", "names[3]"}) {
      absl::StatusOr<std::string> id = ParseThesisName(name, field);
      ASSERT_FALSE(id.ok());
      EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(StatusFields(id.status()), ElementsAre(std::string(field)));
      EXPECT_EQ(ErrorReason(id.status()), "INVALID_FIELD");
    }
  }
}

// ---------------------------------------------------------------------------
// IsValidClassificationCode

TEST(IsValidClassificationCodeTest, AcceptsCodesAsWritten) {
  for (const char* code : {"D630", "TP311.13", "TP391", "B-4", "R73-3", "Q959.212+.2", "B31/39",
                           "C829.3/.7", "X", "TP", "F", "TN929.5", "G642.0", "O157.5", "D923.4"}) {
    EXPECT_TRUE(IsValidClassificationCode(code)) << code;
  }
}

TEST(IsValidClassificationCodeTest, RejectsMalformedCodes) {
  for (const char* code :
       {"",       "d630", "tp311.13",  "Tp391", "TP 391", " TP391", "TP391 ",      "TP311.",
        "TP311-", "B31/", "Q959+",     "1TP",   "123",    "TP;391", "TP391;TP311", "TPX311",
        "TP..3",  "TP.3", "TP311..13", "TP3,1", "TP3_1",  "学位",   "C829.3/."}) {
    EXPECT_FALSE(IsValidClassificationCode(code)) << '"' << code << '"';
  }
  const std::string too_long = "TP" + std::string(kMaxClassificationCodeBytes - 1, '1');
  ASSERT_EQ(too_long.size(), kMaxClassificationCodeBytes + 1);
  EXPECT_FALSE(IsValidClassificationCode(too_long));
  EXPECT_TRUE(IsValidClassificationCode(too_long.substr(0, kMaxClassificationCodeBytes)));
}

// ---------------------------------------------------------------------------
// ValidateThesis

TEST(ValidateThesisTest, ValidRecordHasNoViolations) {
  EXPECT_THAT(ViolationFields(ValidThesis()), IsEmpty());
}

TEST(ValidateThesisTest, MinimalRecordIsValid) {
  Thesis t;
  t.set_title_en("Only an English title");
  t.add_authors("Someone");
  EXPECT_THAT(ViolationFields(t), IsEmpty());

  Thesis zh;
  zh.set_title_zh("只有中文题名");
  zh.add_authors("某人");
  EXPECT_THAT(ViolationFields(zh), IsEmpty());
}

TEST(ValidateThesisTest, OutputOnlyFieldsAreNotChecked) {
  Thesis t = ValidThesis();
  t.set_name("not a valid name at all");
  t.set_etag("whatever");
  t.mutable_create_time()->set_seconds(12345);
  EXPECT_THAT(ViolationFields(t), IsEmpty());
}

TEST(ValidateThesisTest, PrefixGoesBeforeEveryPath) {
  Thesis t = ValidThesis();
  t.set_degree_year(1800);
  t.mutable_source()->set_url("ftp://example.com/x");
  std::vector<FieldViolation> violations;
  ValidateThesis(t, "", &violations);
  EXPECT_THAT(Fields(violations), ElementsAre("degree_year", "source.url"));

  violations.clear();
  ValidateThesis(t, "requests[2].thesis.", &violations);
  EXPECT_THAT(Fields(violations),
              ElementsAre("requests[2].thesis.degree_year", "requests[2].thesis.source.url"));
}

TEST(ValidateThesisTest, AppendsToExistingViolations) {
  std::vector<FieldViolation> violations = {{"request_id", "earlier problem"}};
  Thesis t = ValidThesis();
  t.set_language("english");
  ValidateThesis(t, "thesis.", &violations);
  EXPECT_THAT(Fields(violations), ElementsAre("request_id", "thesis.language"));
}

TEST(ValidateThesisTest, TitleRequired) {
  Thesis t = ValidThesis();
  t.clear_title_zh();
  t.clear_title_en();
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.title_zh"));

  t.set_title_zh("   ");
  t.set_title_en("\t");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.title_zh"));
}

TEST(ValidateThesisTest, TitleTooLong) {
  Thesis t = ValidThesis();
  t.set_title_zh(std::string(kMaxTitleBytes, 'a'));
  EXPECT_THAT(ViolationFields(t), IsEmpty());
  t.set_title_zh(std::string(kMaxTitleBytes + 1, 'a'));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.title_zh"));

  Thesis en = ValidThesis();
  en.set_title_en(std::string(kMaxTitleBytes + 1, 'a'));
  EXPECT_THAT(ViolationFields(en), ElementsAre("thesis.title_en"));
}

TEST(ValidateThesisTest, TitleInvalidUtf8) {
  Thesis t = ValidThesis();
  t.set_title_en("bad \xC0\xAF title");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.title_en"));
}

TEST(ValidateThesisTest, AuthorsRequired) {
  Thesis t = ValidThesis();
  t.clear_authors();
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.authors"));
}

TEST(ValidateThesisTest, EmptyOrBadAuthorEntryNamesIndex) {
  Thesis t = ValidThesis();
  t.add_authors("  ");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.authors[1]"));

  Thesis u = ValidThesis();
  u.add_authors(std::string(kMaxNameBytes + 1, 'a'));
  EXPECT_THAT(ViolationFields(u), ElementsAre("thesis.authors[1]"));

  Thesis v = ValidThesis();
  v.set_authors(0, "\xFF");
  EXPECT_THAT(ViolationFields(v), ElementsAre("thesis.authors[0]"));
}

TEST(ValidateThesisTest, TooManyAuthorsAndAdvisors) {
  Thesis t = ValidThesis();
  t.clear_authors();
  for (size_t i = 0; i < kMaxAuthors; ++i) t.add_authors("a");
  EXPECT_THAT(ViolationFields(t), IsEmpty());
  t.add_authors("a");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.authors"));

  Thesis u = ValidThesis();
  for (size_t i = 0; i < kMaxAdvisors + 1; ++i) u.add_advisors("b");
  EXPECT_THAT(ViolationFields(u), ElementsAre("thesis.advisors"));
}

TEST(ValidateThesisTest, AdvisorEntryNamesIndex) {
  Thesis t = ValidThesis();
  t.set_advisors(1, "");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.advisors[1]"));
}

TEST(ValidateThesisTest, InstitutionAndDisciplineLength) {
  Thesis t = ValidThesis();
  t.set_institution(std::string(kMaxNameBytes + 1, 'x'));
  t.set_discipline(std::string("a\0b", 3));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.institution", "thesis.discipline"));
}

TEST(ValidateThesisTest, UnknownDegreeLevel) {
  Thesis t = ValidThesis();
  t.set_degree_level(static_cast<thesis::v1::DegreeLevel>(99));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.degree_level"));

  t.set_degree_level(static_cast<thesis::v1::DegreeLevel>(-1));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.degree_level"));

  for (int level = 0; level <= 7; ++level) {
    t.set_degree_level(static_cast<thesis::v1::DegreeLevel>(level));
    EXPECT_THAT(ViolationFields(t), IsEmpty()) << level;
  }
}

TEST(ValidateThesisTest, DegreeYearRange) {
  Thesis t = ValidThesis();
  for (int year : {0, kMinYear, 2000, kMaxYear}) {
    t.set_degree_year(year);
    EXPECT_THAT(ViolationFields(t), IsEmpty()) << year;
  }
  for (int year : {kMinYear - 1, kMaxYear + 1, -1, 20110}) {
    t.set_degree_year(year);
    EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.degree_year")) << year;
  }
}

TEST(ValidateThesisTest, AbstractTooLong) {
  Thesis t = ValidThesis();
  t.set_abstract_zh(std::string(kMaxAbstractBytes, 'a'));
  EXPECT_THAT(ViolationFields(t), IsEmpty());
  t.set_abstract_zh(std::string(kMaxAbstractBytes + 1, 'a'));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.abstract_zh"));
}

TEST(ValidateThesisTest, Keywords) {
  Thesis t = ValidThesis();
  t.add_keywords_en("");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.keywords_en[1]"));

  Thesis u = ValidThesis();
  u.set_keywords_zh(1, std::string(kMaxKeywordBytes + 1, 'k'));
  EXPECT_THAT(ViolationFields(u), ElementsAre("thesis.keywords_zh[1]"));

  Thesis v = ValidThesis();
  for (size_t i = 0; i < kMaxKeywords; ++i) v.add_keywords_zh("k");
  EXPECT_THAT(ViolationFields(v), ElementsAre("thesis.keywords_zh"));
}

TEST(ValidateThesisTest, OnlinePublication) {
  Thesis t = ValidThesis();
  t.mutable_online_publication()->set_year(1899);
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.online_publication.year"));

  t.mutable_online_publication()->set_year(0);
  EXPECT_THAT(ViolationFields(t), IsEmpty());

  t.mutable_online_publication()->set_issue(std::string(kMaxShortFieldBytes + 1, '1'));
  t.mutable_online_publication()->set_contributor("\xED\xA0\x80");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.online_publication.contributor",
                                              "thesis.online_publication.issue"));
}

TEST(ValidateThesisTest, ClassificationCodeNamesIndex) {
  Thesis t = ValidThesis();
  t.set_classification_codes(1, "tp311.13");
  std::vector<FieldViolation> violations;
  ValidateThesis(t, "thesis.", &violations);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field, "thesis.classification_codes[1]");
  EXPECT_THAT(violations[0].description, ::testing::HasSubstr("tp311.13"));

  Thesis u = ValidThesis();
  u.add_classification_codes("TP311.");
  u.set_classification_codes(0, "");
  EXPECT_THAT(ViolationFields(u),
              ElementsAre("thesis.classification_codes[0]", "thesis.classification_codes[2]"));
}

TEST(ValidateThesisTest, ClassificationCodeWithInvalidUtf8DoesNotEchoIt) {
  Thesis t = ValidThesis();
  t.set_classification_codes(0, "\xFF\xFE");
  std::vector<FieldViolation> violations;
  ValidateThesis(t, "thesis.", &violations);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field, "thesis.classification_codes[0]");
  EXPECT_TRUE(IsValidText(violations[0].description));
}

TEST(ValidateThesisTest, TooManyClassificationCodes) {
  Thesis t = ValidThesis();
  t.clear_classification_codes();
  for (size_t i = 0; i < kMaxClassificationCodes; ++i) t.add_classification_codes("TP391");
  EXPECT_THAT(ViolationFields(t), IsEmpty());
  t.add_classification_codes("TP391");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.classification_codes"));
}

TEST(ValidateThesisTest, SourceUrl) {
  Thesis t = ValidThesis();
  for (const char* url :
       {"ftp://example.com/x", "kns.cnki.net/x", "javascript:alert(1)", "//example.com"}) {
    t.mutable_source()->set_url(url);
    EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.source.url")) << url;
  }
  for (const char* url : {"", "http://example.com", "https://kns.cnki.net/a?b=c"}) {
    t.mutable_source()->set_url(url);
    EXPECT_THAT(ViolationFields(t), IsEmpty()) << url;
  }
  t.mutable_source()->set_url("https://example.com/" + std::string(kMaxUrlBytes, 'a'));
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.source.url"));
  t.mutable_source()->set_url("https://example.com/\xFF");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.source.url"));
}

TEST(ValidateThesisTest, SourceIds) {
  Thesis t = ValidThesis();
  t.mutable_source()->set_database(std::string(kMaxShortFieldBytes + 1, 'D'));
  t.mutable_source()->set_record_id("\x80");
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.source.database", "thesis.source.record_id"));
}

TEST(ValidateThesisTest, Language) {
  Thesis t = ValidThesis();
  for (const char* tag : {"", "zh", "en", "zh-CN", "zh-Hans-CN", "yue", "en-US-x-private1"}) {
    t.set_language(tag);
    EXPECT_THAT(ViolationFields(t), IsEmpty()) << tag;
  }
  for (const char* tag : {"z", "english", "zh_CN", "zh-", "-zh", "zh--CN", "12", "zh-toolongsubtag",
                          "zh CN", "中文"}) {
    t.set_language(tag);
    EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.language")) << tag;
  }
}

TEST(ValidateThesisTest, LegacyDownloadCount) {
  Thesis t = ValidThesis();
  t.set_legacy_download_count(-1);
  EXPECT_THAT(ViolationFields(t), ElementsAre("thesis.legacy_download_count"));
  t.set_legacy_download_count(0);
  EXPECT_THAT(ViolationFields(t), IsEmpty());
  t.clear_legacy_download_count();
  EXPECT_THAT(ViolationFields(t), IsEmpty());
}

TEST(ValidateThesisTest, ReportsEveryProblem) {
  Thesis t = ValidThesis();
  t.clear_authors();
  t.set_degree_year(3000);
  t.set_classification_codes(1, "TP;391");
  t.set_language("?");
  t.set_legacy_download_count(-5);
  EXPECT_THAT(ViolationFields(t),
              ElementsAre("thesis.authors", "thesis.degree_year", "thesis.classification_codes[1]",
                          "thesis.language", "thesis.legacy_download_count"));
}

// ---------------------------------------------------------------------------
// ValidateRequestId

TEST(ValidateRequestIdTest, AcceptsEmptyAndPrintableAscii) {
  for (const std::string& id :
       {std::string(""), std::string("abc"), std::string("550e8400-e29b-41d4-a716-446655440000"),
        std::string("~!@#$%^&*()_+{}|:<>?"), std::string(kMaxRequestIdBytes, 'r')}) {
    std::vector<FieldViolation> violations;
    ValidateRequestId(id, "request_id", &violations);
    EXPECT_THAT(violations, IsEmpty()) << id;
  }
}

TEST(ValidateRequestIdTest, RejectsLongOrUnprintable) {
  for (const std::string& id :
       {std::string(kMaxRequestIdBytes + 1, 'r'), std::string("has space"), std::string("tab\t"),
        std::string("new\nline"), std::string("del\x7F"), std::string("é"), std::string("请求"),
        std::string("a\0b", 3)}) {
    std::vector<FieldViolation> violations;
    ValidateRequestId(id, "requests[0].request_id", &violations);
    EXPECT_THAT(Fields(violations), ElementsAre("requests[0].request_id")) << id;
  }
}

// ---------------------------------------------------------------------------
// ClearOutputOnlyFields

TEST(ClearOutputOnlyFieldsTest, ClearsNameTimesAndEtag) {
  Thesis t = ValidThesis();
  t.set_name("theses/abc");
  t.mutable_create_time()->set_seconds(1);
  t.mutable_update_time()->set_seconds(2);
  t.set_etag("W/\"1-2\"");
  ClearOutputOnlyFields(&t);
  EXPECT_TRUE(MessageDifferencer::Equals(t, ValidThesis()));
}

// ---------------------------------------------------------------------------
// ValidateUpdateMask

TEST(ValidateUpdateMaskTest, EmptyMaskIsRequired) {
  absl::Status status = ValidateUpdateMask(FieldMask());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("update_mask"));
}

TEST(ValidateUpdateMaskTest, AcceptsWritableFields) {
  EXPECT_TRUE(ValidateUpdateMask(Mask({"*"})).ok());
  EXPECT_TRUE(ValidateUpdateMask(Mask({"title_zh"})).ok());
  EXPECT_TRUE(ValidateUpdateMask(
                  Mask({"title_zh", "title_en", "authors", "advisors", "institution", "discipline",
                        "degree_level", "degree_year", "abstract_zh", "abstract_en", "keywords_zh",
                        "keywords_en", "online_publication", "classification_codes", "source",
                        "language", "legacy_download_count"}))
                  .ok());
  EXPECT_TRUE(ValidateUpdateMask(Mask({"source.url", "source.database", "online_publication.year",
                                       "online_publication.issue"}))
                  .ok());
}

TEST(ValidateUpdateMaskTest, UnknownPath) {
  for (const char* path :
       {"no_such_field", "source.nope", "title_zh.x", "Title_zh", "titleZh", "authors[0]"}) {
    absl::Status status = ValidateUpdateMask(Mask({"title_en", path}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[1]")) << path;
  }
}

// FieldMaskUtil::GetFieldDescriptors skips empty pieces of a path, so paths
// like "" or "source..url" must be rejected before it is asked.
TEST(ValidateUpdateMaskTest, EmptyOrMalformedPathIsRejected) {
  for (const char* path : {"", ".", "..", ".title_zh", "title_zh.", "source..url"}) {
    absl::Status status = ValidateUpdateMask(Mask({"title_en", path}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << '"' << path << '"';
    EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[1]")) << '"' << path << '"';
  }
  Thesis target;
  target.set_title_zh("题名");
  target.add_authors("作者");
  Thesis patch;
  patch.set_title_zh("新题名");
  EXPECT_EQ(ApplyUpdate(patch, Mask({""}), &target).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateUpdateMaskTest, OutputOnlyPath) {
  for (const char* path :
       {"name", "etag", "create_time", "update_time", "create_time.seconds", "update_time.nanos"}) {
    absl::Status status = ValidateUpdateMask(Mask({path}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[0]")) << path;
  }
}

TEST(ValidateUpdateMaskTest, StarMustBeAlone) {
  absl::Status status = ValidateUpdateMask(Mask({"*", "title_zh"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[0]"));

  status = ValidateUpdateMask(Mask({"title_zh", "*"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[1]"));

  status = ValidateUpdateMask(Mask({"*", "*"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("update_mask.paths[0]", "update_mask.paths[1]"));
}

TEST(ValidateUpdateMaskTest, ReportsEveryBadPath) {
  absl::Status status = ValidateUpdateMask(Mask({"etag", "title_zh", "bogus", "*"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status),
              ElementsAre("update_mask.paths[0]", "update_mask.paths[2]", "update_mask.paths[3]"));
}

// ---------------------------------------------------------------------------
// ApplyUpdate

// A stored record: valid, with output-only fields set.
Thesis StoredThesis() {
  Thesis t = ValidThesis();
  t.set_name("theses/stored-1");
  t.mutable_create_time()->set_seconds(1'600'000'000);
  t.mutable_update_time()->set_seconds(1'650'000'000);
  t.set_etag("W/\"3-5dc1f0\"");
  return t;
}

TEST(ApplyUpdateTest, CopiesOnlyMaskedFields) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.set_title_zh("新的题名");
  patch.set_institution("北京大学");
  patch.set_degree_year(2015);
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"title_zh", "degree_year"}), &target).ok());

  Thesis expected = StoredThesis();
  expected.set_title_zh("新的题名");
  expected.set_degree_year(2015);
  EXPECT_TRUE(MessageDifferencer::Equals(target, expected)) << target.DebugString();
}

TEST(ApplyUpdateTest, MaskedFieldUnsetInPatchIsCleared) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.set_title_zh("仅中文题名");
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"title_en", "abstract_en", "degree_year"}), &target).ok());
  EXPECT_EQ(target.title_en(), "");
  EXPECT_EQ(target.abstract_en(), "");
  EXPECT_EQ(target.degree_year(), 0);
  EXPECT_EQ(target.title_zh(), StoredThesis().title_zh());
}

TEST(ApplyUpdateTest, RepeatedFieldsAreReplacedNotAppended) {
  Thesis target = StoredThesis();
  target.clear_authors();
  target.add_authors("甲");
  target.add_authors("乙");
  Thesis patch;
  patch.add_authors("丙");
  patch.add_classification_codes("D630");
  ASSERT_TRUE(
      ApplyUpdate(patch, Mask({"authors", "classification_codes", "keywords_en"}), &target).ok());
  EXPECT_THAT(target.authors(), ElementsAre("丙"));
  EXPECT_THAT(target.classification_codes(), ElementsAre("D630"));
  EXPECT_THAT(target.keywords_en(), IsEmpty());
  EXPECT_THAT(target.advisors(), ElementsAre("李四", "王五"));
}

TEST(ApplyUpdateTest, NestedPathChangesOnlyThatSubfield) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.mutable_source()->set_url("https://example.com/new");
  patch.mutable_source()->set_database("OTHER");
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"source.url"}), &target).ok());
  EXPECT_EQ(target.source().url(), "https://example.com/new");
  EXPECT_EQ(target.source().database(), "CMFD");
  EXPECT_EQ(target.source().record_id(), "1011123456.nh");
}

TEST(ApplyUpdateTest, NestedPathIntoAbsentMessage) {
  Thesis target = StoredThesis();
  target.clear_online_publication();
  Thesis patch;
  patch.mutable_online_publication()->set_year(2012);
  patch.mutable_online_publication()->set_issue("05");
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"online_publication.year"}), &target).ok());
  EXPECT_EQ(target.online_publication().year(), 2012);
  EXPECT_EQ(target.online_publication().issue(), "");
}

TEST(ApplyUpdateTest, MessagePathReplacesWholeMessage) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.mutable_source()->set_url("https://example.com/new");
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"source"}), &target).ok());
  EXPECT_EQ(target.source().url(), "https://example.com/new");
  EXPECT_EQ(target.source().database(), "");
  EXPECT_EQ(target.source().record_id(), "");

  // And an unset message in the patch clears it.
  ASSERT_TRUE(ApplyUpdate(Thesis(), Mask({"online_publication"}), &target).ok());
  EXPECT_FALSE(target.has_online_publication());
}

TEST(ApplyUpdateTest, StarReplacesWritableFieldsButKeepsOutputOnly) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.set_name("theses/someone-else");
  patch.set_etag("W/\"forged\"");
  patch.mutable_create_time()->set_seconds(1);
  patch.mutable_update_time()->set_seconds(2);
  patch.set_title_en("A Completely Different Thesis");
  patch.add_authors("Alice");
  patch.add_authors("Bob");
  patch.set_degree_level(thesis::v1::DEGREE_LEVEL_DOCTOR);
  patch.set_degree_year(2020);
  patch.add_classification_codes("B31/39");
  patch.mutable_source()->set_url("http://example.org/");
  patch.set_language("en");
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"*"}), &target).ok());

  Thesis expected = patch;
  expected.set_name("theses/stored-1");
  expected.mutable_create_time()->set_seconds(1'600'000'000);
  expected.mutable_update_time()->set_seconds(1'650'000'000);
  expected.set_etag("W/\"3-5dc1f0\"");
  EXPECT_TRUE(MessageDifferencer::Equals(target, expected)) << target.DebugString();
  // Fields the patch leaves unset are gone.
  EXPECT_EQ(target.title_zh(), "");
  EXPECT_THAT(target.advisors(), IsEmpty());
  EXPECT_FALSE(target.has_online_publication());
  EXPECT_FALSE(target.has_legacy_download_count());
}

TEST(ApplyUpdateTest, ClearsOptionalLegacyDownloadCountWhenPatchHasItUnset) {
  Thesis target = StoredThesis();
  ASSERT_TRUE(target.has_legacy_download_count());
  Thesis patch;
  ASSERT_FALSE(patch.has_legacy_download_count());
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"legacy_download_count"}), &target).ok());
  EXPECT_FALSE(target.has_legacy_download_count());
}

TEST(ApplyUpdateTest, SetsOptionalLegacyDownloadCountToZero) {
  Thesis target = StoredThesis();
  target.clear_legacy_download_count();
  Thesis patch;
  patch.set_legacy_download_count(0);
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"legacy_download_count"}), &target).ok());
  EXPECT_TRUE(target.has_legacy_download_count());
  EXPECT_EQ(target.legacy_download_count(), 0);
}

TEST(ApplyUpdateTest, InvalidResultIsRejectedAndTargetUntouched) {
  Thesis target = StoredThesis();
  Thesis patch;  // no authors
  absl::Status status = ApplyUpdate(patch, Mask({"authors"}), &target);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("thesis.authors"));
  EXPECT_TRUE(MessageDifferencer::Equals(target, StoredThesis())) << target.DebugString();

  patch.set_degree_year(1800);
  patch.add_authors("x");
  patch.set_title_zh("改");
  status = ApplyUpdate(patch, Mask({"degree_year", "title_zh"}), &target);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("thesis.degree_year"));
  EXPECT_TRUE(MessageDifferencer::Equals(target, StoredThesis())) << target.DebugString();

  // "*" with an invalid patch: every writable field would change, none does.
  status = ApplyUpdate(Thesis(), Mask({"*"}), &target);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusFields(status), ElementsAre("thesis.title_zh", "thesis.authors"));
  EXPECT_TRUE(MessageDifferencer::Equals(target, StoredThesis())) << target.DebugString();
}

TEST(ApplyUpdateTest, InvalidMaskIsRejectedAndTargetUntouched) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.set_etag("W/\"new\"");
  patch.set_title_zh("改");
  for (const FieldMask& mask :
       {FieldMask(), Mask({"etag"}), Mask({"title_zh", "nope"}), Mask({"*", "title_zh"})}) {
    absl::Status status = ApplyUpdate(patch, mask, &target);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << mask.DebugString();
    EXPECT_TRUE(MessageDifferencer::Equals(target, StoredThesis())) << target.DebugString();
  }
}

TEST(ApplyUpdateTest, UnmaskedInvalidPatchFieldsAreIgnored) {
  Thesis target = StoredThesis();
  Thesis patch;
  patch.set_title_zh("新题名");
  patch.set_degree_year(1);                    // invalid, but not masked
  patch.set_legacy_download_count(-3);         // invalid, but not masked
  patch.add_classification_codes("bad;code");  // invalid, but not masked
  ASSERT_TRUE(ApplyUpdate(patch, Mask({"title_zh"}), &target).ok());
  EXPECT_EQ(target.title_zh(), "新题名");
  EXPECT_EQ(target.degree_year(), 2011);
  EXPECT_EQ(target.legacy_download_count(), 123);
}

}  // namespace
}  // namespace thesis::domain
