#include "internal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/domain/thesis_validation.h"

namespace thesis::formats::internal {
namespace {

using thesis::v1::Thesis;

// Decodes one code point at s[i]; returns its length in bytes, or 0 when the
// bytes there are not well-formed UTF-8.
size_t DecodeOne(absl::string_view s, size_t i, uint32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t extra;
  uint32_t v;
  if ((c & 0xE0) == 0xC0) {
    extra = 1;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (extra >= s.size() - i) return 0;
  for (size_t k = 1; k <= extra; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    v = (v << 6) | (cc & 0x3F);
  }
  if ((extra == 1 && v < 0x80) || (extra == 2 && v < 0x800) || (extra == 3 && v < 0x10000) ||
      (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
    return 0;
  }
  *cp = v;
  return extra + 1;
}

bool IsHan(uint32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x2FDF) ||  // radicals
         (cp >= 0x3400 && cp <= 0x4DBF) ||  // extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // unified ideographs
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // compatibility ideographs
         (cp >= 0x20000 && cp <= 0x3134F);  // extensions B-G
}

constexpr absl::string_view kIdeographicSpace = "\u3000";
constexpr absl::string_view kFullWidthSemicolon = "\uFF1B";
constexpr absl::string_view kFullWidthComma = "\uFF0C";

// Splits on any of `seps` (each one or more bytes); items trimmed, empties
// dropped.
std::vector<std::string> SplitOn(absl::string_view value,
                                 std::initializer_list<absl::string_view> seps) {
  std::vector<std::string> out;
  size_t start = 0;
  size_t i = 0;
  while (i < value.size()) {
    size_t len = 0;
    for (absl::string_view sep : seps) {
      if (value.substr(i, sep.size()) == sep) {
        len = sep.size();
        break;
      }
    }
    if (len == 0) {
      ++i;
      continue;
    }
    absl::string_view item = Trim(value.substr(start, i - start));
    if (!item.empty()) out.emplace_back(item);
    i += len;
    start = i;
  }
  absl::string_view item = Trim(value.substr(start));
  if (!item.empty()) out.emplace_back(item);
  return out;
}

bool HasSemicolon(absl::string_view value) {
  return absl::StrContains(value, ';') || absl::StrContains(value, kFullWidthSemicolon);
}

// Copy of the service's CLC notation check (IsValidClassificationCode).
}  // namespace

bool IsValidUtf8(absl::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeOne(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeOne(s, i, &cp);
    if (n == 0) {
      out.append("\uFFFD");
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string Quote(absl::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return SanitizeUtf8(s);
  size_t cut = max_bytes;
  // Back up to a character boundary (at most 3 continuation bytes).
  for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++k) {
    --cut;
  }
  return absl::StrCat(SanitizeUtf8(s.substr(0, cut)), "...");
}

bool HasHan(absl::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeOne(s, i, &cp);
    if (n == 0) {
      ++i;
      continue;
    }
    if (IsHan(cp)) return true;
    i += n;
  }
  return false;
}

absl::string_view Trim(absl::string_view s) {
  for (;;) {
    const size_t before = s.size();
    s = absl::StripAsciiWhitespace(s);
    if (absl::ConsumePrefix(&s, kIdeographicSpace)) continue;
    if (absl::ConsumeSuffix(&s, kIdeographicSpace)) continue;
    if (s.size() == before) return s;
  }
}

std::vector<std::string> SplitList(absl::string_view value, bool comma) {
  if (comma && !HasSemicolon(value)) {
    return SplitOn(value, {";", kFullWidthSemicolon, ",", kFullWidthComma});
  }
  return SplitOn(value, {";", kFullWidthSemicolon});
}

std::vector<std::string> SplitPersons(absl::string_view value) {
  return SplitList(value, HasHan(value));
}

std::vector<std::string> SplitKeywords(absl::string_view value) { return SplitList(value, true); }

bool ParseYear(absl::string_view value, int* year) {
  value = Trim(value);
  if (value.size() < 4) return false;
  int y = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(value[i]))) return false;
    y = y * 10 + (value[i] - '0');
  }
  if (value.size() > 4 && absl::ascii_isdigit(static_cast<unsigned char>(value[4]))) return false;
  *year = y;
  return true;
}

LineReader::LineReader(absl::string_view text) : text_(text) {
  absl::ConsumePrefix(&text_, "\xEF\xBB\xBF");
}

bool LineReader::Next(Line* line) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == absl::string_view::npos) end = text_.size();
  absl::string_view text = text_.substr(pos_, end - pos_);
  absl::ConsumeSuffix(&text, "\r");
  line->text = text;
  line->number = ++number_;
  pos_ = end + 1;
  return true;
}

void ProblemList::Add(Problem problem) {
  if (result_->problems.size() < kMaxProblems) {
    result_->problems.push_back(std::move(problem));
    return;
  }
  if (left_out_++ == 0) first_left_out_line_ = problem.line;
}

void ProblemList::Malformed(int line, std::string reason) {
  Add(internal::Malformed(file_, line, std::move(reason)));
}

void ProblemList::Skipped(int line, absl::string_view type) {
  Problem p;
  p.file = std::string(file_);
  p.line = line;
  p.reason = absl::StrCat("not a thesis: record type \"", Quote(Trim(type)), "\"");
  p.skipped = true;
  Add(std::move(p));
}

void ProblemList::Finish() {
  if (left_out_ == 0) return;
  result_->problems.push_back(internal::Malformed(
      file_, first_left_out_line_,
      absl::StrCat(left_out_, " more problems from this line on are not listed (limit ",
                   kMaxProblems, ")")));
}

bool IsShallowJsonObject(absl::string_view text, int max_depth) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string;
}

std::string CheckThesis(const Thesis& t) {
  std::vector<FieldViolation> violations;
  domain::ValidateThesis(t, "", &violations);
  if (violations.empty()) return "";
  return absl::StrCat(violations.front().field, ": ", violations.front().description);
}

void SetLanguage(Thesis* t) {
  const bool zh = HasHan(t->title_zh()) || HasHan(t->title_en()) || HasHan(t->abstract_zh()) ||
                  HasHan(t->abstract_en());
  t->set_language(zh ? "zh" : "en");
}

bool IsThesisType(absl::string_view type) {
  type = Trim(type);
  return absl::EqualsIgnoreCase(type, "Thesis") || absl::EqualsIgnoreCase(type, "Dissertation") ||
         absl::EqualsIgnoreCase(type, "Dissertation/Thesis") || type == "学位论文";
}

Problem Malformed(absl::string_view file, int line, std::string reason) {
  Problem p;
  p.file = std::string(file);
  p.line = line;
  p.reason = std::move(reason);
  p.skipped = false;
  return p;
}

}  // namespace thesis::formats::internal
