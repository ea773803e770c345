// Classification table readers: the nested JSON tree and the TSV tables
// (see class_tables.h).
//
// The JSON reader is written here rather than borrowed from protobuf's JSON
// parser: it needs the line and column of every node for the rows' origins,
// must skip a bad node and keep its siblings, and must stay linear (and
// within a bounded stack) on deeply nested hostile input.
#include "thesis/formats/class_tables.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "internal.h"
#include "server/common/utf8.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using thesis::v1::ClassRow;

// CLC has 10 levels; deeper nesting is hostile input, refused before it can
// exhaust the stack.
constexpr int kMaxNodeDepth = 64;
// Values of keys the reader does not use are skipped, also within bounds.
constexpr int kMaxValueDepth = 64;

std::string LineOrigin(absl::string_view file, int line) { return absl::StrCat(file, ":", line); }

// Adds problems up to internal::kMaxProblems; Finish() appends the count of
// the ones left out.
class Problems {
 public:
  Problems(ClassTable* table, absl::string_view file) : table_(table), file_(file) {}
  void Add(std::string origin, int line, std::string reason) {
    if (table_->problems.size() < internal::kMaxProblems) {
      table_->problems.push_back({std::move(origin), line, std::move(reason)});
      return;
    }
    if (left_out_++ == 0) first_left_out_line_ = line;
  }
  void AddAtLine(int line, std::string reason) {
    Add(LineOrigin(file_, line), line, std::move(reason));
  }
  void Finish() {
    if (left_out_ == 0) return;
    table_->problems.push_back(
        {LineOrigin(file_, first_left_out_line_), first_left_out_line_,
         absl::StrCat(left_out_, " more problems from this line on are not listed (limit ",
                      internal::kMaxProblems, ")")});
  }

 private:
  ClassTable* table_;
  absl::string_view file_;
  size_t left_out_ = 0;
  int first_left_out_line_ = 0;
};

// ---- JSON tree ----

struct JsonNode {
  std::string code;
  std::string name;
  bool has_code = false;
  int line = 0;
  int column = 0;
  // Why the node is skipped (with everything below it); empty when usable.
  std::string bad;
  std::vector<JsonNode> children;
};

// A recursive-descent JSON reader that knows only what a class tree needs:
// arrays of node objects, whose other values it skips.
class JsonTreeReader {
 public:
  explicit JsonTreeReader(absl::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = counted_pos_ = 3;
  }

  // The top-level array; false on a syntax error (see error()).
  bool Parse(std::vector<JsonNode>* roots) {
    SkipSpace();
    if (Peek() != '[') return Fail("expected a top-level array of {code, name, children} nodes");
    if (!ParseNodes(roots, 1)) return false;
    SkipSpace();
    if (pos_ < text_.size()) return Fail("text after the top-level array");
    return true;
  }

  const std::string& error() const { return error_; }
  int error_line() const { return error_line_; }
  int error_column() const { return error_column_; }

 private:
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  // In characters, as editors count: the bytes since the last call are
  // counted, so that columns in a single multi-megabyte line stay linear.
  int Column() {
    for (; counted_pos_ < pos_; ++counted_pos_) {
      if ((static_cast<unsigned char>(text_[counted_pos_]) & 0xC0) != 0x80) ++counted_chars_;
    }
    return counted_chars_ + 1;
  }

  // Whitespace is the only place where valid JSON has line breaks, so lines
  // are counted here (strings may not hold raw control characters).
  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        counted_pos_ = pos_ + 1;
        counted_chars_ = 0;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        break;
      }
      ++pos_;
    }
  }

  bool Fail(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
      error_line_ = line_;
      error_column_ = Column();
    }
    return false;
  }

  bool Expect(char c) {
    SkipSpace();
    if (Peek() != c) {
      return Fail(pos_ < text_.size()
                      ? absl::StrCat("expected '", std::string(1, c), "', found '",
                                     internal::Quote(text_.substr(pos_, 1)), "'")
                      : absl::StrCat("expected '", std::string(1, c), "', found the end"));
    }
    ++pos_;
    return true;
  }

  bool ParseHex4(uint32_t* value) {
    if (text_.size() - pos_ < 4) return Fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Fail("bad \\u escape");
      }
    }
    pos_ += 4;
    *value = v;
    return true;
  }

  // At '"'. `out` may be null (a skipped value).
  bool ParseString(std::string* out) {
    if (!Expect('"')) return false;
    while (true) {
      // Copy the plain run up to the next quote, backslash or control byte.
      const size_t start = pos_;
      while (pos_ < text_.size()) {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++pos_;
      }
      if (out != nullptr) out->append(text_.data() + start, pos_ - start);
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c != '\\') return Fail("control character in a string");
      ++pos_;
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const char e = text_[pos_++];
      char plain = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          plain = e;
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!ParseHex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            uint32_t low;
            if (!ParseHex4(&low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              // Not a pair: both halves stand for themselves, replaced.
              if (out != nullptr) AppendUtf8(0xFFFD, out);
              cp = low >= 0xD800 && low <= 0xDFFF ? 0xFFFD : low;
            }
          } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // a lone surrogate cannot be UTF-8
          }
          if (out != nullptr) AppendUtf8(cp, out);
          continue;
        }
        default:
          return Fail(absl::StrCat("bad escape \\", internal::Quote(std::string(1, e))));
      }
      if (out != nullptr) out->push_back(plain);
    }
  }

  bool SkipLiteral(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("unexpected character");
    pos_ += word.size();
    return true;
  }

  bool SkipNumber() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-' ||
            text_[pos_] == '+' || text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
    }
    return pos_ > start || Fail("unexpected character");
  }

  // Any value, thrown away.
  bool SkipValue(int depth) {
    if (depth > kMaxValueDepth) return Fail("nested too deeply");
    SkipSpace();
    switch (Peek()) {
      case '"':
        return ParseString(nullptr);
      case '{':
        ++pos_;
        SkipSpace();
        if (Peek() == '}') {
          ++pos_;
          return true;
        }
        while (true) {
          SkipSpace();
          if (!ParseString(nullptr) || !Expect(':') || !SkipValue(depth + 1)) return false;
          SkipSpace();
          if (Peek() == '}') {
            ++pos_;
            return true;
          }
          if (!Expect(',')) return false;
        }
      case '[':
        ++pos_;
        SkipSpace();
        if (Peek() == ']') {
          ++pos_;
          return true;
        }
        while (true) {
          if (!SkipValue(depth + 1)) return false;
          SkipSpace();
          if (Peek() == ']') {
            ++pos_;
            return true;
          }
          if (!Expect(',')) return false;
        }
      case 't':
        return SkipLiteral("true");
      case 'f':
        return SkipLiteral("false");
      case 'n':
        return SkipLiteral("null");
      case '\0':
        if (pos_ >= text_.size()) return Fail("unexpected end of the text");
        return Fail("unexpected character");
      default:
        return SkipNumber();
    }
  }

  // At '['; the nodes of one level.
  bool ParseNodes(std::vector<JsonNode>* out, int depth) {
    if (depth > kMaxNodeDepth) {
      return Fail(absl::StrCat("nodes nested more than ", kMaxNodeDepth, " levels deep"));
    }
    if (!Expect('[')) return false;
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      JsonNode& node = out->emplace_back();
      if (Peek() == '{') {
        if (!ParseNode(&node, depth)) return false;
      } else {
        node.line = line_;
        node.column = Column();
        node.bad = "not a {code, name, children} object";
        if (!SkipValue(0)) return false;
      }
      SkipSpace();
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      if (!Expect(',')) return false;
    }
  }

  // At '{'.
  bool ParseNode(JsonNode* node, int depth) {
    node->line = line_;
    node->column = Column();
    ++pos_;
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    std::string key;
    while (true) {
      SkipSpace();
      key.clear();
      if (!ParseString(&key) || !Expect(':')) return false;
      SkipSpace();
      if (key == "code" || key == "name") {
        if (Peek() == '"') {
          if (!ParseString(key == "code" ? &node->code : &node->name)) return false;
          if (key == "code") node->has_code = true;
        } else {
          if (!SkipValue(0)) return false;
          node->bad = absl::StrCat(key, " is not a string");
        }
      } else if (key == "children") {
        if (Peek() == '[') {
          if (!ParseNodes(&node->children, depth + 1)) return false;
        } else {
          const bool null = text_.substr(pos_, 4) == "null";
          if (!SkipValue(0)) return false;
          // null children: a leaf written loosely.
          if (!null) node->bad = "children is not an array";
        }
      } else if (!SkipValue(0)) {
        return false;
      }
      SkipSpace();
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      if (!Expect(',')) return false;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  // Column(): characters of the current line before counted_pos_.
  size_t counted_pos_ = 0;
  int counted_chars_ = 0;
  std::string error_;
  int error_line_ = 0;
  int error_column_ = 0;
};

size_t CountNodes(const std::vector<JsonNode>& nodes) {
  size_t n = nodes.size();
  for (const JsonNode& node : nodes) n += CountNodes(node.children);
  return n;
}

// Depth-first, a parent before its children, in file order.
void EmitNodes(const std::vector<JsonNode>& nodes, const std::string& parent,
               absl::string_view file, ClassTable* table, Problems* problems) {
  for (const JsonNode& node : nodes) {
    const std::string origin = absl::StrCat(file, ":", node.line, ":", node.column);
    const absl::string_view code = internal::Trim(node.code);
    std::string why = node.bad;
    if (why.empty() && !node.has_code) why = "node without a code";
    if (why.empty() && code.empty()) why = "empty code";
    if (why.empty() && (!internal::IsValidUtf8(node.code) || !internal::IsValidUtf8(node.name))) {
      why = "not UTF-8";
    }
    if (!why.empty()) {
      const size_t below = CountNodes(node.children);
      problems->Add(origin, node.line,
                    below == 0
                        ? absl::StrCat(why, ": skipped")
                        : absl::StrCat(why, ": skipped with the ", below, " node(s) below it"));
      continue;
    }
    ClassRow& row = table->rows.emplace_back();
    row.set_code(std::string(code));
    row.set_display_name(std::string(internal::Trim(node.name)));
    row.set_parent(parent);
    row.set_origin(origin);
    // A copy: the rows below grow the vector, which moves `row`.
    const std::string this_code(code);
    EmitNodes(node.children, this_code, file, table, problems);
  }
}

// ---- TSV ----

// Which cell holds what; -1 when the header has no such column.
struct TsvColumns {
  int code = -1;
  int name = -1;
  int parent = -1;
  int category_code = -1;
  int category_name = -1;
  size_t count = 0;
  // Cells a line needs: trailing note/kind columns may be missing.
  size_t required = 0;
};

TsvColumns ReadHeader(absl::string_view line) {
  TsvColumns c;
  std::vector<std::string> names;
  for (absl::string_view cell : absl::StrSplit(line, '\t')) {
    names.push_back(absl::AsciiStrToLower(internal::Trim(cell)));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const int at = static_cast<int>(i);
    if (n == "code" || n == "discipline_code") c.code = at;
    if (n == "name" || n == "discipline_name") c.name = at;
    if (n == "parent") c.parent = at;
    if (n == "category_code") c.category_code = at;
    if (n == "category_name") c.category_name = at;
  }
  c.count = names.size();
  c.required = names.size();
  while (c.required > 0 && (names[c.required - 1] == "note" || names[c.required - 1] == "kind")) {
    --c.required;
  }
  return c;
}

ClassTableFormat TsvFormat(const TsvColumns& c) {
  const bool category = c.category_code >= 0 && c.category_name >= 0;
  if (category && c.code >= 0 && c.name >= 0) return ClassTableFormat::kDisciplineTsv;
  if (category && c.code < 0 && c.name < 0 && c.parent < 0) return ClassTableFormat::kCategoryTsv;
  if (!category && c.code >= 0 && c.name >= 0 && c.parent >= 0) return ClassTableFormat::kFlatTsv;
  return ClassTableFormat::kUnknown;
}

constexpr char kNotATable[] =
    "not a class table: expected a JSON array of {code, name, children} nodes, or a TSV header "
    "with code, name and parent columns (or category_code and category_name, with "
    "discipline_code and discipline_name or code and name)";

}  // namespace

absl::string_view ClassTableFormatName(ClassTableFormat format) {
  switch (format) {
    case ClassTableFormat::kJsonTree:
      return "JSON tree";
    case ClassTableFormat::kFlatTsv:
      return "code/name/parent TSV";
    case ClassTableFormat::kCategoryTsv:
      return "discipline category TSV";
    case ClassTableFormat::kDisciplineTsv:
      return "discipline TSV";
    case ClassTableFormat::kUnknown:
      break;
  }
  return "unknown";
}

ClassTableFormat DetectClassTableFormat(absl::string_view utf8) {
  internal::LineReader lines(utf8);
  internal::Line line;
  while (lines.Next(&line)) {
    const absl::string_view text = internal::Trim(line.text);
    if (text.empty()) continue;
    if (text.front() == '[') return ClassTableFormat::kJsonTree;
    return TsvFormat(ReadHeader(line.text));
  }
  return ClassTableFormat::kUnknown;
}

ClassTable ParseClassTreeJson(absl::string_view utf8, absl::string_view file_name) {
  ClassTable table;
  table.format = ClassTableFormat::kJsonTree;
  Problems problems(&table, file_name);
  JsonTreeReader reader(utf8);
  std::vector<JsonNode> roots;
  if (!reader.Parse(&roots)) {
    problems.Add(absl::StrCat(file_name, ":", reader.error_line(), ":", reader.error_column()),
                 reader.error_line(),
                 absl::StrCat("JSON syntax error: ", reader.error(), "; no rows read"));
    return table;
  }
  EmitNodes(roots, "", file_name, &table, &problems);
  problems.Finish();
  return table;
}

ClassTable ParseClassTsv(absl::string_view utf8, absl::string_view file_name) {
  ClassTable table;
  Problems problems(&table, file_name);
  internal::LineReader lines(utf8);
  internal::Line line;
  TsvColumns columns;
  bool have_header = false;
  // Discipline TSV: category code -> its name and first line.
  absl::flat_hash_map<std::string, std::pair<std::string, int>> categories;
  std::vector<absl::string_view> cells;
  auto cell = [&cells](int i) {
    return i >= 0 && static_cast<size_t>(i) < cells.size() ? internal::Trim(cells[i])
                                                           : absl::string_view();
  };
  auto add = [&](absl::string_view code, absl::string_view name, absl::string_view parent,
                 int number) {
    ClassRow& row = table.rows.emplace_back();
    row.set_code(std::string(code));
    row.set_display_name(std::string(name));
    row.set_parent(std::string(parent));
    row.set_origin(LineOrigin(file_name, number));
  };
  while (lines.Next(&line)) {
    if (internal::Trim(line.text).empty()) continue;
    if (!have_header) {
      have_header = true;
      columns = ReadHeader(line.text);
      table.format = TsvFormat(columns);
      if (table.format == ClassTableFormat::kUnknown) {
        problems.AddAtLine(line.number, kNotATable);
        break;
      }
      continue;
    }
    if (!internal::IsValidUtf8(line.text)) {
      problems.AddAtLine(line.number, "not UTF-8: skipped");
      continue;
    }
    cells = absl::StrSplit(line.text, '\t');
    if (cells.size() < columns.required || cells.size() > columns.count) {
      problems.AddAtLine(line.number,
                         absl::StrCat(cells.size(), " cell(s) where the header has ", columns.count,
                                      ": \"", internal::Quote(line.text), "\" skipped"));
      continue;
    }
    switch (table.format) {
      case ClassTableFormat::kFlatTsv:
        if (cell(columns.code).empty()) {
          problems.AddAtLine(line.number, "empty code: skipped");
          break;
        }
        add(cell(columns.code), cell(columns.name), cell(columns.parent), line.number);
        break;
      case ClassTableFormat::kCategoryTsv:
        if (cell(columns.category_code).empty()) {
          problems.AddAtLine(line.number, "empty category_code: skipped");
          break;
        }
        add(cell(columns.category_code), cell(columns.category_name), "", line.number);
        break;
      case ClassTableFormat::kDisciplineTsv: {
        const absl::string_view category = cell(columns.category_code);
        const absl::string_view code = cell(columns.code);
        if (category.empty() || code.empty()) {
          problems.AddAtLine(
              line.number,
              absl::StrCat("empty ", category.empty() ? "category_" : "", "code: skipped"));
          break;
        }
        const absl::string_view category_name = cell(columns.category_name);
        auto [it, first] =
            categories.try_emplace(std::string(category), std::string(category_name), line.number);
        if (first) {
          add(category, category_name, "", line.number);
        } else if (it->second.first != category_name) {
          // The discipline still loads under its category; the name of the
          // category's first line stands.
          problems.AddAtLine(
              line.number,
              absl::StrCat("category ", category, " is named \"", internal::Quote(category_name),
                           "\" here but \"", internal::Quote(it->second.first), "\" on line ",
                           it->second.second, ": the first name is kept"));
        }
        add(code, cell(columns.name), category, line.number);
        break;
      }
      case ClassTableFormat::kJsonTree:
      case ClassTableFormat::kUnknown:
        break;
    }
  }
  problems.Finish();
  return table;
}

ClassTable ParseClassTable(absl::string_view bytes, absl::string_view file_name) {
  ClassTable table;
  if (bytes.empty()) return table;
  absl::StatusOr<std::string> text = DecodeToUtf8(bytes);
  if (!text.ok()) {
    table.problems.push_back({LineOrigin(file_name, 1), 1, std::string(text.status().message())});
    return table;
  }
  switch (DetectClassTableFormat(*text)) {
    case ClassTableFormat::kJsonTree:
      return ParseClassTreeJson(*text, file_name);
    case ClassTableFormat::kFlatTsv:
    case ClassTableFormat::kCategoryTsv:
    case ClassTableFormat::kDisciplineTsv:
      return ParseClassTsv(*text, file_name);
    case ClassTableFormat::kUnknown:
      break;
  }
  if (!internal::Trim(*text).empty()) {
    table.problems.push_back({LineOrigin(file_name, 1), 1, kNotATable});
  }
  return table;
}

}  // namespace thesis::formats
