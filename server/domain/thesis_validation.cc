#include "server/domain/thesis_validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace thesis::domain {
namespace {

using thesis::v1::Thesis;

class Checker {
 public:
  Checker(absl::string_view prefix, std::vector<FieldViolation>* out)
      : prefix_(prefix), out_(out) {}

  void Add(absl::string_view field, std::string description) {
    out_->push_back({absl::StrCat(prefix_, field), std::move(description)});
  }

  // Text of at most `max_bytes`; `required` rejects empty.
  void Text(absl::string_view field, absl::string_view value, size_t max_bytes,
            bool required = false) {
    if (!IsValidText(value)) {
      Add(field, "must be valid UTF-8 without NUL characters");
    } else if (value.size() > max_bytes) {
      Add(field, absl::StrCat("must be at most ", max_bytes, " bytes, got ", value.size()));
    } else if (required && absl::StripAsciiWhitespace(value).empty()) {
      Add(field, "is required");
    }
  }

  void List(absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& values,
            size_t max_items, size_t max_bytes) {
    if (static_cast<size_t>(values.size()) > max_items) {
      Add(field, absl::StrCat("must have at most ", max_items, " entries, got ", values.size()));
      return;
    }
    for (int i = 0; i < values.size(); ++i) {
      std::string path = absl::StrCat(field, "[", i, "]");
      if (absl::StripAsciiWhitespace(values[i]).empty() && IsValidText(values[i])) {
        Add(path, "must not be empty");
      } else {
        Text(path, values[i], max_bytes);
      }
    }
  }

  void Year(absl::string_view field, int year) {
    if (year != 0 && (year < kMinYear || year > kMaxYear)) {
      Add(field, absl::StrCat("must be 0 (unknown) or between ", kMinYear, " and ", kMaxYear,
                              ", got ", year));
    }
  }

 private:
  absl::string_view prefix_;
  std::vector<FieldViolation>* out_;
};

bool IsLanguageTag(absl::string_view tag) {
  // BCP-47 shape: 2-3 letters, then -subtags of 2-8 alphanumerics.
  size_t start = 0;
  bool first = true;
  while (start <= tag.size()) {
    size_t end = tag.find('-', start);
    if (end == absl::string_view::npos) end = tag.size();
    absl::string_view part = tag.substr(start, end - start);
    if (first) {
      if (part.size() < 2 || part.size() > 3) return false;
      for (char c : part) {
        if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
      }
    } else {
      if (part.size() < 1 || part.size() > 8) return false;
      for (char c : part) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
      }
    }
    first = false;
    if (end == tag.size()) break;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool IsValidText(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool IsValidThesisId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  if (id.front() == '-' || id.back() == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

absl::StatusOr<std::string> ParseThesisName(absl::string_view name, absl::string_view field) {
  if (name.empty()) return InvalidFieldError(field, "is required");
  if (!absl::StartsWith(name, kThesisCollection)) {
    return InvalidFieldError(field, "must have the form theses/{thesis}");
  }
  absl::string_view id = name.substr(sizeof(kThesisCollection) - 1);
  if (!IsValidThesisId(id)) {
    return InvalidFieldError(field,
                             "thesis id must be 1-63 characters of [a-z0-9-], not starting or "
                             "ending with '-'");
  }
  return std::string(id);
}

std::string ThesisName(absl::string_view id) { return absl::StrCat(kThesisCollection, id); }

absl::string_view DegreeLevelName(thesis::v1::DegreeLevel level) {
  switch (level) {
    case thesis::v1::DEGREE_LEVEL_BACHELOR:
      return "学士";
    case thesis::v1::DEGREE_LEVEL_MASTER:
      return "硕士";
    case thesis::v1::DEGREE_LEVEL_DOCTOR:
      return "博士";
    case thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER:
      return "专业硕士";
    case thesis::v1::DEGREE_LEVEL_PROFESSIONAL_DOCTOR:
      return "专业博士";
    case thesis::v1::DEGREE_LEVEL_POSTDOCTORAL:
      return "博士后";
    case thesis::v1::DEGREE_LEVEL_UNSPECIFIED:
      return "";
    default:
      return "其他";
  }
}

bool IsValidClassificationCode(absl::string_view code) {
  if (code.empty() || code.size() > kMaxClassificationCodeBytes) return false;
  size_t i = 0;
  // One or two capital letters: the main class (D, TP, ...).
  while (i < code.size() && i < 2 && code[i] >= 'A' && code[i] <= 'Z') ++i;
  if (i == 0) return false;
  char prev = code[i - 1];
  for (; i < code.size(); ++i) {
    const char c = code[i];
    const bool digit = c >= '0' && c <= '9';
    const bool punct = c == '.' || c == '-' || c == '+' || c == '/' || c == '=' || c == ':' ||
                       c == '"' || c == '(' || c == ')' || c == '<' || c == '>';
    if (!digit && !punct) return false;
    // A dot separates digits (TP311.13), or starts the short end of a range
    // (C829.3/.7) or of + notation (Q959.212+.2); no doubled separators.
    if (c == '.' && !(prev >= '0' && prev <= '9') && prev != '+' && prev != '/') return false;
    if (punct && prev == c && c != '"') return false;
    prev = c;
  }
  return prev != '.' && prev != '-' && prev != '+' && prev != '/';
}

void ValidateThesis(const Thesis& thesis, absl::string_view prefix,
                    std::vector<FieldViolation>* violations) {
  Checker check(prefix, violations);
  check.Text("title_zh", thesis.title_zh(), kMaxTitleBytes);
  check.Text("title_en", thesis.title_en(), kMaxTitleBytes);
  if (absl::StripAsciiWhitespace(thesis.title_zh()).empty() &&
      absl::StripAsciiWhitespace(thesis.title_en()).empty()) {
    check.Add("title_zh", "a Chinese or an English title is required");
  }
  if (thesis.authors_size() == 0) check.Add("authors", "at least one author is required");
  check.List("authors", thesis.authors(), kMaxAuthors, kMaxNameBytes);
  check.List("advisors", thesis.advisors(), kMaxAdvisors, kMaxNameBytes);
  check.Text("institution", thesis.institution(), kMaxNameBytes);
  check.Text("discipline", thesis.discipline(), kMaxNameBytes);
  if (!thesis::v1::DegreeLevel_IsValid(thesis.degree_level())) {
    check.Add("degree_level", absl::StrCat("unknown degree level ", thesis.degree_level()));
  }
  check.Year("degree_year", thesis.degree_year());
  check.Text("abstract_zh", thesis.abstract_zh(), kMaxAbstractBytes);
  check.Text("abstract_en", thesis.abstract_en(), kMaxAbstractBytes);
  check.List("keywords_zh", thesis.keywords_zh(), kMaxKeywords, kMaxKeywordBytes);
  check.List("keywords_en", thesis.keywords_en(), kMaxKeywords, kMaxKeywordBytes);

  const auto& online = thesis.online_publication();
  check.Text("online_publication.contributor", online.contributor(), kMaxNameBytes);
  check.Year("online_publication.year", online.year());
  check.Text("online_publication.issue", online.issue(), kMaxShortFieldBytes);

  if (static_cast<size_t>(thesis.classification_codes_size()) > kMaxClassificationCodes) {
    check.Add("classification_codes",
              absl::StrCat("must have at most ", kMaxClassificationCodes, " entries"));
  } else {
    for (int i = 0; i < thesis.classification_codes_size(); ++i) {
      if (!IsValidClassificationCode(thesis.classification_codes(i))) {
        check.Add(absl::StrCat("classification_codes[", i, "]"),
                  absl::StrCat("\"",
                               IsValidText(thesis.classification_codes(i))
                                   ? thesis.classification_codes(i)
                                   : std::string("?"),
                               "\" is not a Chinese Library Classification code (like D630 or "
                               "TP311.13)"));
      }
    }
  }

  const auto& source = thesis.source();
  check.Text("source.database", source.database(), kMaxShortFieldBytes);
  check.Text("source.record_id", source.record_id(), kMaxShortFieldBytes);
  check.Text("source.url", source.url(), kMaxUrlBytes);
  if (!source.url().empty() && IsValidText(source.url()) &&
      !absl::StartsWith(source.url(), "http://") && !absl::StartsWith(source.url(), "https://")) {
    check.Add("source.url", "must be an http:// or https:// URL");
  }
  if (!thesis.language().empty() && !IsLanguageTag(thesis.language())) {
    check.Add("language", "must be a BCP-47 language tag such as zh or en");
  }
  if (thesis.has_legacy_download_count() && thesis.legacy_download_count() < 0) {
    check.Add("legacy_download_count", "must not be negative");
  }
}

void ValidateRequestId(absl::string_view request_id, absl::string_view field,
                       std::vector<FieldViolation>* violations) {
  if (request_id.size() > kMaxRequestIdBytes) {
    violations->push_back(
        {std::string(field), absl::StrCat("must be at most ", kMaxRequestIdBytes, " characters")});
    return;
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7E) {
      violations->push_back({std::string(field), "must be printable ASCII without spaces"});
      return;
    }
  }
}

void ClearOutputOnlyFields(Thesis* thesis) {
  thesis->clear_name();
  thesis->clear_create_time();
  thesis->clear_update_time();
  thesis->clear_etag();
}

}  // namespace thesis::domain
