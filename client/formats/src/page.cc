// The CNKI detail-page format: the text of a thesis page copied from CNKI,
// titles first, then 【name】 value fields (some behind list bullets).
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "builder.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using internal::Builder;
using internal::Line;

constexpr absl::string_view kOpen = "【";
constexpr absl::string_view kClose = "】";
constexpr size_t kMaxKeyBytes = 64;

constexpr absl::string_view kKnownKeys[] = {
    "作者",   "导师",      "作者基本信息", "摘要",       "Abstract",       "英文摘要",
    "关键词", "Key words", "Keywords",     "英文关键词", "网络出版投稿人", "网络出版年期",
    "分类号", "下载频次",  "学位授予单位", "学科专业",   "学位年度"};

// Leading whitespace and list bullets ("•", "·", "*", "-").
absl::string_view StripBullets(absl::string_view s) {
  for (;;) {
    const size_t before = s.size();
    s = internal::Trim(s);
    absl::ConsumePrefix(&s, "\u2022") || absl::ConsumePrefix(&s, "\u00B7") ||
        absl::ConsumePrefix(&s, "*") || absl::ConsumePrefix(&s, "-");
    if (s.size() == before) return s;
  }
}

bool MatchField(absl::string_view line, absl::string_view* key, absl::string_view* value) {
  absl::string_view s = StripBullets(line);
  if (!absl::ConsumePrefix(&s, kOpen)) return false;
  const size_t close = s.substr(0, kMaxKeyBytes + kClose.size()).find(kClose);
  if (close == absl::string_view::npos) return false;
  *key = internal::Trim(s.substr(0, close));
  *value = s.substr(close + kClose.size());
  return !key->empty();
}

struct PageField {
  absl::string_view key;
  std::string value;
  int line = 0;
};

struct PageRecord {
  int line = 0;
  std::vector<absl::string_view> titles;
  std::vector<PageField> fields;
  std::set<absl::string_view> keys;
  // More than kMaxFieldsPerRecord fields or titles: the rest were not kept.
  bool too_many = false;
};

// "兰州大学 , 公共管理, 2009, 硕士": institution, discipline, year, degree; a
// part is the year when it is four digits and the degree when it reads as
// one, so a missing part does not shift the others.
void MapBasicInfo(absl::string_view value, int line, Builder* b) {
  std::vector<absl::string_view> text;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    for (absl::string_view piece : absl::StrSplit(part, "\uFF0C")) {
      piece = internal::Trim(piece);
      if (piece.empty()) continue;
      int year = 0;
      const auto level = ParseDegreeLevel(piece);
      if (piece.size() == 4 && internal::ParseYear(piece, &year)) {
        b->Year("【作者基本信息】 year", piece, line);
      } else if (level != thesis::v1::DEGREE_LEVEL_OTHER &&
                 level != thesis::v1::DEGREE_LEVEL_UNSPECIFIED) {
        b->Degree(piece);
      } else {
        text.push_back(piece);
      }
    }
  }
  if (text.size() > 0) b->Once(b->thesis().mutable_institution(), text[0]);
  if (text.size() > 1) b->Once(b->thesis().mutable_discipline(), text[1]);
}

// "2011年 S1期" -> year 2011, issue "S1".
void MapOnlineIssue(absl::string_view value, int line, Builder* b) {
  value = internal::Trim(value);
  if (value.empty()) return;
  constexpr absl::string_view kNian = "年";
  const size_t nian = value.find(kNian);
  int year = 0;
  absl::string_view rest;
  if (nian != absl::string_view::npos) rest = value.substr(nian + kNian.size());
  if (nian == absl::string_view::npos || !internal::ParseYear(value.substr(0, nian), &year) ||
      !absl::ConsumeSuffix(&rest, "期")) {
    b->Fail(absl::StrCat("【网络出版年期】 \"", internal::Quote(value),
                         "\" is not like 2011年 S1期 (line ", line, ")"));
    return;
  }
  auto* online = b->thesis().mutable_online_publication();
  online->set_year(year);
  online->set_issue(std::string(internal::Trim(rest)));
}

void MapDownloads(absl::string_view value, int line, Builder* b) {
  value = internal::Trim(value);
  if (value.empty()) return;
  std::string digits;
  bool only_digits = true;
  for (char c : value) {
    if (c == ',' || c == ' ') continue;
    only_digits = only_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
    digits.push_back(c);
  }
  int64_t count = 0;
  if (digits.empty() || !only_digits || !absl::SimpleAtoi(digits, &count)) {
    b->Fail(absl::StrCat("【下载频次】 \"", internal::Quote(value), "\" is not a number (line ",
                         line, ")"));
    return;
  }
  b->thesis().set_legacy_download_count(count);
}

void SetOrAppend(std::string* slot, absl::string_view value) {
  value = internal::Trim(value);
  if (value.empty()) return;
  if (slot->empty()) {
    *slot = std::string(value);
  } else {
    absl::StrAppend(slot, "\n", value);
  }
}

void AddList(google::protobuf::RepeatedPtrField<std::string>* list, absl::string_view value) {
  for (std::string& item : internal::SplitKeywords(value)) list->Add(std::move(item));
}

void MapRecord(const PageRecord& rec, Builder* b) {
  auto& t = b->thesis();
  std::string zh;
  std::string en;
  for (absl::string_view title : rec.titles) {
    if (internal::HasHan(title)) {
      absl::StrAppend(&zh, title);
    } else {
      absl::StrAppend(&en, en.empty() ? "" : " ", title);
    }
  }
  t.set_title_zh(zh);
  t.set_title_en(en);
  for (const PageField& f : rec.fields) {
    const absl::string_view k = f.key;
    if (k == "作者") {
      b->Authors(f.value);
    } else if (k == "导师") {
      b->Advisors(f.value);
    } else if (k == "作者基本信息") {
      MapBasicInfo(f.value, f.line, b);
    } else if (k == "摘要") {
      SetOrAppend(t.mutable_abstract_zh(), f.value);
    } else if (k == "Abstract" || k == "英文摘要") {
      SetOrAppend(t.mutable_abstract_en(), f.value);
    } else if (k == "关键词") {
      AddList(t.mutable_keywords_zh(), f.value);
    } else if (k == "Key words" || k == "Keywords" || k == "英文关键词") {
      AddList(t.mutable_keywords_en(), f.value);
    } else if (k == "网络出版投稿人") {
      absl::string_view v = internal::Trim(f.value);
      if (!v.empty() && t.online_publication().contributor().empty()) {
        t.mutable_online_publication()->set_contributor(std::string(v));
      }
    } else if (k == "网络出版年期") {
      MapOnlineIssue(f.value, f.line, b);
    } else if (k == "分类号") {
      for (std::string& code : internal::SplitList(f.value, false)) {
        t.add_classification_codes(std::move(code));
      }
    } else if (k == "下载频次") {
      MapDownloads(f.value, f.line, b);
    } else if (k == "学位授予单位") {
      b->Once(t.mutable_institution(), f.value);
    } else if (k == "学科专业") {
      b->Once(t.mutable_discipline(), f.value);
    } else if (k == "学位年度") {
      b->Year("【学位年度】", f.value, f.line);
    }
  }
}

void FinishRecord(const PageRecord& rec, ParseResult* result, internal::ProblemList* problems) {
  if (rec.too_many) {
    problems->Malformed(rec.line, absl::StrCat("more than ", internal::kMaxFieldsPerRecord,
                                               " fields or title lines in one record"));
    return;
  }
  Builder builder;
  MapRecord(rec, &builder);
  internal::SetLanguage(&builder.thesis());
  std::string reason = builder.error();
  if (reason.empty()) reason = internal::CheckThesis(builder.thesis());
  if (!reason.empty()) {
    problems->Malformed(rec.line, std::move(reason));
    return;
  }
  Record record;
  record.thesis = std::move(builder.thesis());
  record.line = rec.line;
  result->records.push_back(std::move(record));
}

// The name of the next field line after a given line, found by a second
// reader that only moves forward: linear time, no per-line memory.
class FieldLookahead {
 public:
  explicit FieldLookahead(absl::string_view utf8) : reader_(utf8) {}

  // "" when no field line follows `line`.
  absl::string_view NextKeyAfter(int line) {
    while (!done_ && number_ <= line) Advance();
    return number_ > line ? key_ : absl::string_view();
  }

 private:
  void Advance() {
    Line l;
    absl::string_view value;
    while (reader_.Next(&l)) {
      if (MatchField(l.text, &key_, &value)) {
        number_ = l.number;
        return;
      }
    }
    done_ = true;
    key_ = absl::string_view();
  }

  internal::LineReader reader_;
  absl::string_view key_;
  int number_ = 0;
  bool done_ = false;
};

}  // namespace

ParseResult ParseCnkiPage(absl::string_view utf8, absl::string_view file_name) {
  ParseResult result;
  result.format = Format::kCnkiPage;
  internal::ProblemList problems(&result, file_name);
  PageRecord cur;
  bool have = false;
  auto finish = [&]() {
    if (have) FinishRecord(cur, &result, &problems);
  };
  auto start = [&](int line) {
    finish();
    cur = PageRecord();
    cur.line = line;
    have = true;
  };
  FieldLookahead ahead(utf8);
  internal::LineReader reader(utf8);
  Line line;
  while (reader.Next(&line)) {
    const absl::string_view text = internal::Trim(line.text);
    if (text.empty()) continue;
    absl::string_view key;
    absl::string_view value;
    if (MatchField(line.text, &key, &value)) {
      if (!have) start(line.number);
      if (cur.fields.size() < internal::kMaxFieldsPerRecord) {
        cur.fields.push_back({key, std::string(value), line.number});
        cur.keys.insert(key);
      } else {
        cur.too_many = true;
      }
      continue;
    }
    // A plain line: the next record's title when the next field is 【作者】
    // or one this record already has; else a title of this record (before
    // its first field) or a continuation of its last field.
    bool new_record = !have;
    if (have && !cur.fields.empty()) {
      const absl::string_view next = ahead.NextKeyAfter(line.number);
      new_record = !next.empty() && (next == "作者" || cur.keys.count(next) > 0);
    }
    if (new_record) start(line.number);
    if (cur.too_many) continue;
    if (cur.fields.empty()) {
      if (cur.titles.size() < internal::kMaxFieldsPerRecord) {
        cur.titles.push_back(text);
      } else {
        cur.too_many = true;
      }
    } else {
      absl::StrAppend(&cur.fields.back().value, "\n", text);
    }
  }
  finish();
  problems.Finish();
  return result;
}

namespace internal {

bool IsCnkiPageField(absl::string_view line) {
  absl::string_view key;
  absl::string_view value;
  if (!MatchField(line, &key, &value)) return false;
  for (absl::string_view known : kKnownKeys) {
    if (key == known) return true;
  }
  return false;
}

}  // namespace internal
}  // namespace thesis::formats
