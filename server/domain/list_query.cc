#include "server/domain/list_query.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "server/common/errors.h"
#include "server/domain/thesis_validation.h"

namespace thesis::domain {
namespace {

using thesis::v1::Thesis;

struct Token {
  enum Kind { kIdent, kString, kNumber, kOp, kEnd } kind;
  std::string text;
  size_t offset;
};

absl::Status FilterError(std::string description) {
  return InvalidFieldError("filter", description, "INVALID_FILTER");
}

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view in) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"') {
      std::string value;
      size_t start = i++;
      bool closed = false;
      while (i < in.size()) {
        if (in[i] == '\\' && i + 1 < in.size()) {
          value.push_back(in[i + 1]);
          i += 2;
        } else if (in[i] == '"') {
          ++i;
          closed = true;
          break;
        } else {
          value.push_back(in[i++]);
        }
      }
      if (!closed) return FilterError(absl::StrCat("unterminated string at offset ", start));
      tokens.push_back({Token::kString, std::move(value), start});
    } else if (c == '=' || c == ':') {
      tokens.push_back({Token::kOp, std::string(1, c), i++});
    } else if (c == '<' || c == '>' || c == '!') {
      size_t start = i++;
      std::string op(1, c);
      if (i < in.size() && in[i] == '=') op.push_back(in[i++]);
      if (op == "!") return FilterError(absl::StrCat("unexpected '!' at offset ", start));
      tokens.push_back({Token::kOp, op, start});
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t start = i++;
      while (i < in.size() && absl::ascii_isdigit(static_cast<unsigned char>(in[i]))) ++i;
      tokens.push_back({Token::kNumber, std::string(in.substr(start, i - start)), start});
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = i;
      while (i < in.size() && (absl::ascii_isalnum(static_cast<unsigned char>(in[i])) ||
                               in[i] == '_' || in[i] == '.')) {
        ++i;
      }
      tokens.push_back({Token::kIdent, std::string(in.substr(start, i - start)), start});
    } else {
      return FilterError(absl::StrCat("unexpected character at offset ", i));
    }
  }
  tokens.push_back({Token::kEnd, "", in.size()});
  return tokens;
}

absl::Status SetOnce(std::optional<std::string>* slot, const std::string& field,
                     const std::string& value) {
  if (slot->has_value()) return FilterError(absl::StrCat(field, " may appear only once"));
  if (!IsValidText(value) || value.size() > kMaxNameBytes) {
    return FilterError(absl::StrCat("value for ", field, " is not valid text of at most ",
                                    kMaxNameBytes, " bytes"));
  }
  *slot = value;
  return absl::OkStatus();
}

absl::StatusOr<int> ParseDegreeLevel(const Token& value) {
  std::string name = absl::AsciiStrToUpper(value.text);
  if (name.rfind("DEGREE_LEVEL_", 0) != 0) name = absl::StrCat("DEGREE_LEVEL_", name);
  thesis::v1::DegreeLevel level;
  if (!thesis::v1::DegreeLevel_Parse(name, &level) ||
      level == thesis::v1::DEGREE_LEVEL_UNSPECIFIED) {
    return FilterError(absl::StrCat("unknown degree_level \"", value.text, "\""));
  }
  return static_cast<int>(level);
}

absl::Status ApplyComparison(const std::string& field, const std::string& op, const Token& value,
                             ThesisFilter* filter) {
  const bool is_string = value.kind == Token::kString;
  if (field == "degree_year") {
    int year;
    if (value.kind != Token::kNumber || !absl::SimpleAtoi(value.text, &year) || year < 0 ||
        year > 9999) {
      return FilterError("degree_year must be compared with a year between 0 and 9999");
    }
    auto tighten_min = [&](int y) { filter->year_min = std::max(filter->year_min.value_or(y), y); };
    auto tighten_max = [&](int y) { filter->year_max = std::min(filter->year_max.value_or(y), y); };
    if (op == "=") {
      tighten_min(year);
      tighten_max(year);
    } else if (op == ">=") {
      tighten_min(year);
    } else if (op == ">") {
      tighten_min(year + 1);
    } else if (op == "<=") {
      tighten_max(year);
    } else if (op == "<") {
      tighten_max(year - 1);
    } else {
      return FilterError(absl::StrCat("operator ", op, " is not supported for degree_year"));
    }
    return absl::OkStatus();
  }
  if (op != "=") {
    return FilterError(absl::StrCat("operator ", op, " is not supported for ", field));
  }
  if (field == "degree_level") {
    if (value.kind != Token::kIdent && !is_string) {
      return FilterError("degree_level must be compared with a level name such as DOCTOR");
    }
    if (filter->degree_level) return FilterError("degree_level may appear only once");
    absl::StatusOr<int> level = ParseDegreeLevel(value);
    if (!level.ok()) return level.status();
    filter->degree_level = *level;
    return absl::OkStatus();
  }
  if (!is_string) return FilterError(absl::StrCat(field, " must be compared with a quoted string"));
  if (field == "institution") return SetOnce(&filter->institution, field, value.text);
  if (field == "discipline") return SetOnce(&filter->discipline, field, value.text);
  if (field == "author") return SetOnce(&filter->author, field, value.text);
  if (field == "advisor") return SetOnce(&filter->advisor, field, value.text);
  if (field == "classification_code") {
    std::string code = value.text;
    bool prefix = false;
    if (!code.empty() && code.back() == '*') {
      code.pop_back();
      prefix = true;
    }
    // A prefix may end where a code cannot: "TP311.*".
    std::string checked = code;
    if (prefix && !checked.empty() && checked.back() == '.') checked.pop_back();
    if (!IsValidClassificationCode(checked)) {
      return FilterError(absl::StrCat("\"", value.text, "\" is not a classification code"));
    }
    absl::Status status = SetOnce(&filter->class_code, field, code);
    filter->class_code_is_prefix = prefix;
    return status;
  }
  return FilterError(absl::StrCat("unknown field \"", field,
                                  "\"; use institution, discipline, author, advisor, "
                                  "degree_level, degree_year or classification_code"));
}

bool HasEqual(const google::protobuf::RepeatedPtrField<std::string>& values,
              const std::string& wanted) {
  for (const std::string& v : values) {
    if (v == wanted) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ThesisFilter> ParseThesisFilter(absl::string_view text) {
  ThesisFilter filter;
  if (text.size() > 4096) return FilterError("must be at most 4096 bytes");
  if (!IsValidText(text)) return FilterError("must be valid UTF-8");
  absl::StatusOr<std::vector<Token>> tokens_or = Tokenize(text);
  if (!tokens_or.ok()) return tokens_or.status();
  const std::vector<Token>& tokens = *tokens_or;
  size_t i = 0;
  if (tokens[i].kind == Token::kEnd) return filter;
  while (true) {
    if (tokens[i].kind != Token::kIdent) {
      return FilterError(absl::StrCat("expected a field name at offset ", tokens[i].offset));
    }
    const std::string field = tokens[i++].text;
    if (tokens[i].kind != Token::kOp) {
      return FilterError(absl::StrCat("expected an operator after ", field));
    }
    const std::string op = tokens[i++].text;
    if (tokens[i].kind == Token::kEnd || tokens[i].kind == Token::kOp) {
      return FilterError(absl::StrCat("expected a value after ", field, " ", op));
    }
    absl::Status status = ApplyComparison(field, op, tokens[i++], &filter);
    if (!status.ok()) return status;
    if (tokens[i].kind == Token::kEnd) break;
    if (tokens[i].kind != Token::kIdent || tokens[i].text != "AND") {
      return FilterError(
          absl::StrCat("expected AND at offset ", tokens[i].offset, " (only AND is supported)"));
    }
    ++i;
  }
  return filter;
}

absl::Status ParseOrderBy(absl::string_view order_by, ListQuery* query) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(order_by, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  query->order_key = OrderKey::kCreateTime;
  query->descending = false;
  if (parts.empty()) return absl::OkStatus();
  if (parts.size() > 2 || (parts.size() == 2 && parts[1] != "desc" && parts[1] != "asc")) {
    return InvalidFieldError("order_by", "must be one field, optionally followed by desc");
  }
  if (parts[0] == "create_time") {
    query->order_key = OrderKey::kCreateTime;
  } else if (parts[0] == "degree_year") {
    query->order_key = OrderKey::kDegreeYear;
  } else if (parts[0] == "title") {
    query->order_key = OrderKey::kTitle;
  } else {
    return InvalidFieldError("order_by", absl::StrCat("cannot order by \"", parts[0],
                                                      "\"; use degree_year, create_time or title"));
  }
  query->descending = parts.size() == 2 && parts[1] == "desc";
  return absl::OkStatus();
}

absl::StatusOr<int> NormalizePageSize(int page_size) {
  if (page_size < 0) return InvalidFieldError("page_size", "must not be negative");
  if (page_size == 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

bool MatchesFilter(const ThesisFilter& f, const Thesis& t) {
  if (f.institution && t.institution() != *f.institution) return false;
  if (f.discipline && t.discipline() != *f.discipline) return false;
  if (f.degree_level && t.degree_level() != *f.degree_level) return false;
  if (f.year_min && t.degree_year() < *f.year_min) return false;
  if (f.year_max && t.degree_year() > *f.year_max) return false;
  if (f.author && !HasEqual(t.authors(), *f.author)) return false;
  if (f.advisor && !HasEqual(t.advisors(), *f.advisor)) return false;
  if (f.class_code) {
    bool found = false;
    for (const std::string& code : t.classification_codes()) {
      if (f.class_code_is_prefix ? code.rfind(*f.class_code, 0) == 0 : code == *f.class_code) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

const std::string& SortTitle(const Thesis& thesis) {
  return thesis.title_zh().empty() ? thesis.title_en() : thesis.title_zh();
}

SortPosition PositionOf(const Thesis& thesis, absl::string_view id, OrderKey key) {
  SortPosition pos;
  pos.id = std::string(id);
  switch (key) {
    case OrderKey::kCreateTime:
      pos.key = google::protobuf::util::TimeUtil::TimestampToMicroseconds(thesis.create_time());
      break;
    case OrderKey::kDegreeYear:
      pos.key = static_cast<int64_t>(thesis.degree_year());
      break;
    case OrderKey::kTitle:
      pos.key = SortTitle(thesis);
      break;
  }
  return pos;
}

int ComparePositions(const SortPosition& a, const SortPosition& b) {
  if (a.key < b.key) return -1;
  if (b.key < a.key) return 1;
  return a.id.compare(b.id) < 0 ? -1 : (a.id == b.id ? 0 : 1);
}

}  // namespace thesis::domain
