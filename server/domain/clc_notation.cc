#include "server/domain/clc_notation.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/domain/thesis_validation.h"

namespace thesis::domain::clc {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Characters that start an auxiliary part after the class.
constexpr char kAuxiliaryStarts[] = "(=\"<:";

absl::Status NotClc(absl::string_view code, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", code,
      "\" is not a Chinese Library Classification code (like D630 or TP311.13): ", why));
}

// The class of a code as a table or a caller writes it, for lookups:
// normalized, brackets dropped, dots dropped.
std::string LookupKey(absl::string_view code) {
  std::string key;
  for (char c : NormalizeClc(code)) {
    if (c != '[' && c != ']' && c != '{' && c != '}' && c != '.') key.push_back(c);
  }
  return key;
}

size_t LetterCount(absl::string_view code) {
  size_t n = 0;
  while (n < code.size() && IsLetter(code[n])) ++n;
  return n;
}

absl::Status ParseAuxiliaries(absl::string_view text, ClcCode* out) {
  size_t i = 0;
  while (i < text.size()) {
    const char open = text[i];
    ClcAuxiliary aux;
    size_t end;  // one past the part
    if (open == '(' || open == '"' || open == '<') {
      const char close = open == '(' ? ')' : open == '<' ? '>' : '"';
      aux.kind = open == '('   ? ClcAuxiliary::Kind::kParentheses
                 : open == '<' ? ClcAuxiliary::Kind::kAngles
                               : ClcAuxiliary::Kind::kQuotes;
      const size_t pos = text.find(close, i + 1);
      if (pos == absl::string_view::npos) {
        out->problems.push_back(absl::StrCat("missing '", std::string(1, close), "'"));
        aux.text = std::string(text.substr(i + 1));
        end = text.size();
      } else {
        aux.text = std::string(text.substr(i + 1, pos - i - 1));
        end = pos + 1;
      }
    } else if (open == '=' || open == ':') {
      aux.kind = open == '=' ? ClcAuxiliary::Kind::kEquals : ClcAuxiliary::Kind::kColon;
      size_t pos = text.find_first_of(kAuxiliaryStarts, i + 1);
      if (pos == absl::string_view::npos) pos = text.size();
      aux.text = std::string(text.substr(i + 1, pos - i - 1));
      end = pos;
    } else {
      return NotClc(out->normalized, absl::StrCat("unexpected '", std::string(1, open), "'"));
    }
    if (aux.text.empty()) {
      return NotClc(out->normalized,
                    absl::StrCat("empty auxiliary part after '", std::string(1, open), "'"));
    }
    for (char c : aux.text) {
      if (!IsDigit(c) && !IsLetter(c) && c != '.' && c != '-' && c != '+' && c != '/') {
        return NotClc(out->normalized, absl::StrCat("unexpected '", std::string(1, c),
                                                    "' in auxiliary part \"", aux.text, "\""));
      }
    }
    out->auxiliaries.push_back(std::move(aux));
    i = end;
  }
  return absl::OkStatus();
}

// `start`/`tail` -> the end written out in full; empty when `tail` does not
// continue `start`. A tail starting with a digit replaces the trailing digits
// of the start (`B31/39` -> `B39`, `E292/294.9` -> `E294.9`); one starting
// with `.`, `-` or `+` replaces the start from its last such character
// (`C829.3/.7` -> `C829.7`, `T-013/-017` -> `T-017`).
std::string RangeEnd(absl::string_view start, absl::string_view tail) {
  if (tail.empty()) return "";
  size_t keep;
  if (IsDigit(tail[0])) {
    keep = start.size();
    while (keep > 0 && IsDigit(start[keep - 1])) --keep;
    if (keep == start.size()) return "";
  } else if (tail[0] == '.' || tail[0] == '-' || tail[0] == '+') {
    keep = start.rfind(tail[0]);
    if (keep == absl::string_view::npos) return "";
  } else {
    return "";
  }
  return absl::StrCat(start.substr(0, keep), tail);
}

}  // namespace

std::string ToHalfWidth(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      out.push_back(' ');  // U+00A0 no-break space
      ++i;
      continue;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF && i + 2 < text.size()) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      if ((b1 & 0xC0) == 0x80 && (b2 & 0xC0) == 0x80) {
        const unsigned cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
        char ascii = 0;
        if (cp >= 0xFF01 && cp <= 0xFF5E) {
          ascii = static_cast<char>(cp - 0xFEE0);
        } else if (cp == 0x3000) {
          ascii = ' ';
        } else if (cp == 0x201C || cp == 0x201D) {
          ascii = '"';
        } else if (cp == 0x2212) {
          ascii = '-';
        }
        if (ascii != 0) {
          out.push_back(ascii);
          i += 2;
          continue;
        }
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string NormalizeClc(absl::string_view raw) {
  std::string out;
  for (char c : ToHalfWidth(raw)) {
    if (IsSpace(c)) continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::vector<std::string> SplitCodes(absl::string_view field) {
  const std::string text = ToHalfWidth(field);
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    std::string code = NormalizeClc(current);
    if (!code.empty()) out.push_back(std::move(code));
    current.clear();
  };
  auto next_non_space = [&](size_t i) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    return i < text.size() ? text[i] : '\0';
  };
  auto last_non_space = [&] {
    for (auto it = current.rbegin(); it != current.rend(); ++it) {
      if (!IsSpace(*it)) return *it;
    }
    return '\0';
  };
  auto starts_code = [](char c) { return IsLetter(c) || c == '[' || c == '{'; };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ';' || c == ',') {
      flush();
    } else if (c == '/') {
      if (starts_code(next_non_space(i + 1))) {
        flush();
      } else {
        current.push_back(c);
      }
    } else if (IsSpace(c)) {
      const char before = last_non_space();
      const bool code_ended =
          IsDigit(before) ||
          (before != '\0' && absl::string_view("]})\">").find(before) != absl::string_view::npos);
      if (code_ended && starts_code(next_non_space(i + 1))) {
        flush();
      } else {
        current.push_back(c);
      }
    } else {
      current.push_back(c);
    }
  }
  flush();
  return out;
}

std::string ClcKey(absl::string_view code) {
  std::string key;
  key.reserve(code.size());
  for (char c : code) {
    if (c != '.') key.push_back(c);
  }
  return key;
}

absl::StatusOr<ClcCode> ParseClc(absl::string_view raw) {
  ClcCode out;
  out.normalized = NormalizeClc(raw);
  const std::string& s = out.normalized;
  if (s.empty()) return NotClc(s, "empty");

  std::string inner;
  if (s[0] == '[' || s[0] == '{') {
    const char close = s[0] == '[' ? ']' : '}';
    (s[0] == '[' ? out.alternative : out.discontinued) = true;
    const size_t pos = s.find(close, 1);
    if (pos == std::string::npos) {
      out.problems.push_back(absl::StrCat("missing '", std::string(1, close), "'"));
      inner = s.substr(1);
    } else {
      inner = s.substr(1, pos - 1) + s.substr(pos + 1);
    }
  } else {
    inner = s;
  }
  if (inner.find_first_of("[]{}") != std::string::npos) {
    return NotClc(s,
                  "brackets only around the whole class ([...] alternative, {...} discontinued)");
  }

  const size_t aux = inner.find_first_of(kAuxiliaryStarts);
  const std::string base = inner.substr(0, aux);
  if (base.empty()) return NotClc(s, "no class");
  if (aux != std::string::npos) {
    absl::Status status = ParseAuxiliaries(absl::string_view(inner).substr(aux), &out);
    if (!status.ok()) return status;
  }
  // The validator also allows characters of the auxiliary parts (cut off
  // above) and `)`, `>` (only inside an auxiliary part).
  if (base.find_first_of(")>") != std::string::npos) return NotClc(s, "malformed class");
  const size_t slash = base.find('/');
  // A range is checked as its two ends (below): IsValidClassificationCode
  // rejects the table's `C829.3/.7` form (a `.` right after the `/`).
  if (!IsValidClassificationCode(base.substr(0, slash))) return NotClc(s, "malformed class");

  out.code = base;
  out.main_class = base.substr(0, LetterCount(base));
  const size_t number_end = base.find_first_of("+-/", out.main_class.size());
  out.number = base.substr(out.main_class.size(), number_end == std::string::npos
                                                      ? std::string::npos
                                                      : number_end - out.main_class.size());
  out.has_plus = base.find('+') != std::string::npos;
  out.has_general_subdivision = base.find('-') != std::string::npos;

  if (slash != std::string::npos) {
    if (base.find('/', slash + 1) != std::string::npos) return NotClc(s, "more than one '/'");
    out.kind = ClcCode::Kind::kRange;
    out.range_start = base.substr(0, slash);
    out.range_end = RangeEnd(out.range_start, absl::string_view(base).substr(slash + 1));
    if (out.range_end.empty() || !IsValidClassificationCode(out.range_end)) {
      return NotClc(s, "the range end does not continue its start (like B31/39 or C829.3/.7)");
    }
    if (!(ClcKey(out.range_start) < ClcKey(out.range_end))) {
      out.problems.push_back(
          absl::StrCat("range end ", out.range_end, " is not after its start ", out.range_start));
    }
  }
  return out;
}

absl::StatusOr<ClcTree> ClcTree::FromEntries(const std::vector<Entry>& entries) {
  ClcTree tree;
  tree.nodes_.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StatusOr<ClcCode> parsed = ParseClc(entries[i].code);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("CLC table entry ", i + 1, ": ", parsed.status().message()));
    }
    const int index = static_cast<int>(tree.nodes_.size());
    if (!tree.by_key_.emplace(ClcKey(parsed->code), index).second) {
      ++tree.duplicates_;
      continue;
    }
    Node node;
    node.code = parsed->normalized;
    node.name = entries[i].name;
    node.parent_code = entries[i].parent;
    node.alternative = parsed->alternative;
    node.discontinued = parsed->discontinued;
    tree.nodes_.push_back(std::move(node));
    if (parsed->kind == ClcCode::Kind::kRange) {
      const std::string start = ClcKey(parsed->range_start);
      const std::string end = ClcKey(parsed->range_end);
      size_t common = 0;
      while (common < start.size() && common < end.size() && start[common] == end[common]) {
        ++common;
      }
      tree.ranges_by_prefix_[start.substr(0, common)].push_back(
          Range{index, start.substr(common), end.substr(common)});
    }
  }
  for (Node& node : tree.nodes_) {
    if (node.parent_code.empty()) continue;
    auto it = tree.by_key_.find(LookupKey(node.parent_code));
    if (it == tree.by_key_.end()) {
      ++tree.orphans_;
    } else {
      node.parent = it->second;
    }
  }
  const int limit = static_cast<int>(tree.nodes_.size());
  for (Node& node : tree.nodes_) {
    int depth = 0;
    for (int p = node.parent; p != -1; p = tree.nodes_[p].parent) {
      if (++depth > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("CLC table: the parents of ", node.code, " form a cycle"));
      }
    }
    node.depth = depth;
  }
  return tree;
}

absl::StatusOr<ClcTree> ClcTree::FromTsv(absl::string_view tsv) {
  std::vector<Entry> entries;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    if (first && fields[0] == "code") {
      first = false;
      continue;
    }
    first = false;
    Entry entry;
    entry.code = std::string(fields[0]);
    if (fields.size() > 1) entry.name = std::string(fields[1]);
    if (fields.size() > 3) entry.parent = std::string(fields[3]);
    entries.push_back(std::move(entry));
  }
  return FromEntries(entries);
}

const std::string* ClcTree::Find(absl::string_view code) const {
  auto it = by_key_.find(LookupKey(code));
  return it == by_key_.end() ? nullptr : &nodes_[it->second].code;
}

const std::string* ClcTree::Name(absl::string_view code) const {
  auto it = by_key_.find(LookupKey(code));
  return it == by_key_.end() ? nullptr : &nodes_[it->second].name;
}

bool ClcTree::InRange(const Range& range, size_t prefix_size, absl::string_view key) const {
  if (key.size() < prefix_size) return false;
  const absl::string_view rest = key.substr(prefix_size);
  return rest.substr(0, range.start_rest.size()) >= range.start_rest &&
         rest.substr(0, range.end_rest.size()) <= range.end_rest;
}

int ClcTree::Nearest(absl::string_view key, absl::string_view also, size_t min_prefix) const {
  int best = -1;
  int best_depth = -1;
  auto consider = [&](int node) {
    if (nodes_[node].depth > best_depth) {
      best = node;
      best_depth = nodes_[node].depth;
    }
  };
  for (size_t size = key.size(); size >= min_prefix && size > 0; --size) {
    const absl::string_view prefix = key.substr(0, size);
    if (!also.empty() && !absl::StartsWith(also, prefix)) continue;
    auto exact = by_key_.find(prefix);
    if (exact != by_key_.end()) consider(exact->second);
    auto ranges = ranges_by_prefix_.find(prefix);
    if (ranges == ranges_by_prefix_.end()) continue;
    for (const Range& range : ranges->second) {
      if (InRange(range, size, key) && (also.empty() || InRange(range, size, also))) {
        consider(range.node);
      }
    }
  }
  return best;
}

ClcResolution ClcTree::Resolve(const ClcCode& code) const {
  ClcResolution out;
  out.code = code.code;
  int node = -1;
  auto exact = by_key_.find(ClcKey(code.code));
  if (exact != by_key_.end()) {
    node = exact->second;
    out.status = ClcResolution::Status::kExact;
  } else {
    const size_t letters = code.main_class.size();
    node = code.kind == ClcCode::Kind::kRange
               ? Nearest(ClcKey(code.range_start), ClcKey(code.range_end), letters)
               : Nearest(ClcKey(code.code), "", letters);
    if (node == -1) return out;
    out.status = ClcResolution::Status::kAncestor;
  }
  out.alternative = nodes_[node].alternative;
  out.discontinued = nodes_[node].discontinued;
  for (int n = node; n != -1 && out.chain.size() <= nodes_.size(); n = nodes_[n].parent) {
    out.chain.push_back(nodes_[n].code);
  }
  return out;
}

absl::StatusOr<ClcResolution> ClcTree::Resolve(absl::string_view raw) const {
  absl::StatusOr<ClcCode> parsed = ParseClc(raw);
  if (!parsed.ok()) return parsed.status();
  return Resolve(*parsed);
}

ClcFieldResolution ClcTree::ResolveField(absl::string_view field) const {
  ClcFieldResolution out;
  for (std::string& part : SplitCodes(field)) {
    ClcFieldResolution::Entry entry;
    entry.raw = std::move(part);
    absl::StatusOr<ClcCode> parsed = ParseClc(entry.raw);
    if (!parsed.ok()) {
      entry.error = std::string(parsed.status().message());
      ++out.invalid;
    } else {
      entry.parsed = *std::move(parsed);
      entry.resolution = Resolve(entry.parsed);
      switch (entry.resolution.status) {
        case ClcResolution::Status::kExact:
          ++out.exact;
          break;
        case ClcResolution::Status::kAncestor:
          ++out.ancestor;
          break;
        case ClcResolution::Status::kUnresolved:
          ++out.unresolved;
          break;
      }
    }
    out.entries.push_back(std::move(entry));
  }
  return out;
}

}  // namespace thesis::domain::clc
