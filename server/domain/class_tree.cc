#include "server/domain/class_tree.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace thesis::domain::classes {
namespace {

struct BuiltinClass {
  const char* scheme;
  const char* code;
  const char* parent;
  const char* name;
};

constexpr BuiltinClass kBuiltins[] = {
#include "server/domain/builtin_classes.inc"
};

// Codes of the discipline catalogue: category `01`, discipline `0101`,
// second-level `010101`.
bool IsDisciplineCode(absl::string_view code) {
  if (code.size() != 2 && code.size() != 4 && code.size() != 6) return false;
  return std::all_of(code.begin(), code.end(), [](char c) { return absl::ascii_isdigit(c); });
}

std::string Trimmed(absl::string_view text) {
  return std::string(absl::StripAsciiWhitespace(clc::ToHalfWidth(text)));
}

// The code a table row or a lookup means, in the tree's spelling.
absl::StatusOr<std::string> NormalizeCode(absl::string_view scheme, absl::string_view code) {
  if (scheme == kClc) {
    absl::StatusOr<clc::ClcCode> parsed = clc::ParseClc(code);
    if (!parsed.ok()) return parsed.status();
    return parsed->normalized;
  }
  std::string out = Trimmed(code);
  if (!IsDisciplineCode(out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("`", out, "` is not a discipline code (2, 4 or 6 digits)"));
  }
  return out;
}

// The key a CLC table looks a class up by: its class part without brackets
// and dots (`[B019.13]` and `B019.13` are the same class to the table).
std::string LookupKey(absl::string_view code) {
  absl::StatusOr<clc::ClcCode> parsed = clc::ParseClc(code);
  return clc::ClcKey(parsed.ok() ? parsed->code : std::string(code));
}

// Removes HTML left in a name (`</a>`, `<b>...</b>`); true when it did.
bool CleanName(std::string* name) {
  if (name->find('<') == std::string::npos && name->find('>') == std::string::npos) {
    *name = std::string(absl::StripAsciiWhitespace(*name));
    return false;
  }
  std::string out;
  bool in_tag = false;
  for (char c : *name) {
    if (c == '<') {
      in_tag = true;
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out.push_back(c);
    }
  }
  *name = std::string(absl::StripAsciiWhitespace(out));
  return true;
}

}  // namespace

const std::vector<std::string>& Schemes() {
  static const auto* schemes = new std::vector<std::string>{kClc, kDiscipline};
  return *schemes;
}

bool IsScheme(absl::string_view scheme) { return scheme == kClc || scheme == kDiscipline; }

bool IsPseudoCode(absl::string_view code) { return absl::StartsWith(code, "~"); }

std::vector<ClassRow> BuiltinRows(absl::string_view scheme) {
  std::vector<ClassRow> rows;
  for (const BuiltinClass& b : kBuiltins) {
    if (scheme == b.scheme) rows.push_back({b.code, b.parent, b.name});
  }
  return rows;
}

absl::StatusOr<std::shared_ptr<const SchemeTree>> SchemeTree::Build(
    std::string scheme, const std::vector<ClassRow>& rows, int64_t generation) {
  if (!IsScheme(scheme)) return absl::InvalidArgumentError(absl::StrCat("no scheme ", scheme));
  auto tree = std::make_shared<SchemeTree>();
  tree->scheme_ = std::move(scheme);
  tree->generation_ = generation;
  tree->nodes_.reserve(rows.size());
  std::vector<clc::ClcTree::Entry> entries;
  for (const ClassRow& row : rows) {
    absl::StatusOr<std::string> code = NormalizeCode(tree->scheme_, row.code);
    if (!code.ok()) return code.status();
    Node node;
    node.code = *code;
    node.name = row.name;
    if (!row.parent.empty()) {
      absl::StatusOr<std::string> parent = NormalizeCode(tree->scheme_, row.parent);
      if (!parent.ok()) return parent.status();
      node.parent = *parent;
    }
    if (tree->scheme_ == kClc) {
      absl::StatusOr<clc::ClcCode> parsed = clc::ParseClc(node.code);
      node.alternative = parsed->alternative;
      node.discontinued = parsed->discontinued;
      entries.push_back({node.code, node.parent, node.name});
    }
    const int index = static_cast<int>(tree->nodes_.size());
    if (!tree->by_code_.emplace(node.code, index).second) {
      return absl::InvalidArgumentError(absl::StrCat("class ", node.code, " is listed twice"));
    }
    if (tree->scheme_ == kDiscipline) tree->by_name_.emplace(Trimmed(node.name), index);
    tree->nodes_.push_back(std::move(node));
  }
  if (tree->scheme_ == kClc) {
    absl::StatusOr<clc::ClcTree> clc_tree = clc::ClcTree::FromEntries(entries);
    if (!clc_tree.ok()) return clc_tree.status();
    if (clc_tree->duplicates() > 0) {
      return absl::InvalidArgumentError("two classes differ only by brackets or dots");
    }
    tree->clc_ = std::make_unique<clc::ClcTree>(std::move(*clc_tree));
  }
  for (int i = 0; i < static_cast<int>(tree->nodes_.size()); ++i) {
    Node& node = tree->nodes_[i];
    auto parent = node.parent.empty() ? tree->by_code_.end() : tree->by_code_.find(node.parent);
    if (parent == tree->by_code_.end()) {
      node.parent.clear();
      tree->roots_.push_back(i);
    } else {
      node.parent_index = parent->second;
      tree->nodes_[parent->second].children.push_back(i);
    }
  }
  const int limit = static_cast<int>(tree->nodes_.size());
  for (Node& node : tree->nodes_) {
    int level = 1;
    for (int p = node.parent_index; p != -1; p = tree->nodes_[p].parent_index) {
      if (++level > limit) {
        return absl::InvalidArgumentError(
            absl::StrCat("the parents of ", node.code, " form a cycle"));
      }
    }
    node.level = level;
  }
  return std::shared_ptr<const SchemeTree>(std::move(tree));
}

int SchemeTree::Find(absl::string_view code) const {
  if (auto it = by_code_.find(code); it != by_code_.end()) return it->second;
  if (clc_ != nullptr) {
    absl::StatusOr<clc::ClcCode> parsed = clc::ParseClc(code);
    if (!parsed.ok()) return -1;
    const std::string* spelling = clc_->Find(parsed->code);
    if (spelling == nullptr) return -1;
    auto it = by_code_.find(*spelling);
    return it == by_code_.end() ? -1 : it->second;
  }
  auto it = by_code_.find(Trimmed(code));
  return it == by_code_.end() ? -1 : it->second;
}

std::vector<int> SchemeTree::PathTo(int index) const {
  std::vector<int> path;
  for (int p = nodes_[index].parent_index; p != -1; p = nodes_[p].parent_index) path.push_back(p);
  std::reverse(path.begin(), path.end());
  return path;
}

int SchemeTree::AncestorAt(int index, int level) const {
  if (index < 0 || nodes_[index].level < level) return -1;
  while (nodes_[index].level > level) index = nodes_[index].parent_index;
  return index;
}

int SchemeTree::PlaceDiscipline(absl::string_view discipline) const {
  const std::string text = Trimmed(discipline);
  if (auto it = by_code_.find(text); it != by_code_.end()) return it->second;
  if (auto it = by_name_.find(text); it != by_name_.end()) return it->second;
  // `1204 公共管理`, `120401行政管理`: a leading code.
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(text[digits])) ++digits;
  for (size_t len : {size_t{6}, size_t{4}, size_t{2}}) {
    if (digits >= len) {
      if (auto it = by_code_.find(text.substr(0, len)); it != by_code_.end()) return it->second;
    }
  }
  return -1;
}

std::vector<int> SchemeTree::DirectClasses(const thesis::v1::Thesis& thesis) const {
  std::vector<int> out;
  auto add = [&out](int index) {
    if (index >= 0 && std::find(out.begin(), out.end(), index) == out.end()) out.push_back(index);
  };
  if (clc_ != nullptr) {
    for (const std::string& field : thesis.classification_codes()) {
      for (const clc::ClcFieldResolution::Entry& e : clc_->ResolveField(field).entries) {
        if (!e.error.empty() || e.resolution.chain.empty()) continue;
        auto it = by_code_.find(e.resolution.chain.front());
        if (it != by_code_.end()) add(it->second);
      }
    }
  } else if (!thesis.discipline().empty()) {
    add(PlaceDiscipline(thesis.discipline()));
  }
  return out;
}

Placement SchemeTree::Place(const thesis::v1::Thesis& thesis) const {
  std::map<std::string, bool> classes;
  bool given = false, unresolved = false;
  if (clc_ != nullptr) {
    for (const std::string& field : thesis.classification_codes()) {
      const clc::ClcFieldResolution r = clc_->ResolveField(field);
      given = given || !r.entries.empty();
      for (const clc::ClcFieldResolution::Entry& e : r.entries) {
        if (!e.error.empty() || e.resolution.chain.empty()) {
          unresolved = true;
          continue;
        }
        for (size_t i = 0; i < e.resolution.chain.size(); ++i) {
          classes[e.resolution.chain[i]] |= (i == 0);
        }
      }
    }
  } else {
    given = !Trimmed(thesis.discipline()).empty();
    const int index = given ? PlaceDiscipline(thesis.discipline()) : -1;
    unresolved = given && index < 0;
    for (int p = index; p != -1; p = nodes_[p].parent_index)
      classes[nodes_[p].code] |= (p == index);
  }
  if (!classes.empty()) classes[kClassified] = true;
  if (unresolved) classes[kUnresolved] = true;
  if (!given) classes[kNone] = true;
  Placement placement;
  placement.classes.assign(classes.begin(), classes.end());
  return placement;
}

TableMerge MergeTable(absl::string_view scheme, const std::vector<ClassRow>& existing,
                      const std::vector<ImportRow>& stream) {
  TableMerge merge;
  merge.rows = existing;
  absl::flat_hash_map<std::string, size_t> row_of;  // code -> index in merge.rows
  absl::flat_hash_map<std::string, size_t> key_of;  // CLC: ClcKey -> index
  for (size_t i = 0; i < merge.rows.size(); ++i) {
    row_of.emplace(merge.rows[i].code, i);
    if (scheme == kClc) key_of.emplace(LookupKey(merge.rows[i].code), i);
  }
  absl::flat_hash_map<std::string, size_t> first_in_stream;
  auto problem = [&merge](size_t index, const std::string& code, std::string reason, bool loaded) {
    merge.problems.push_back({index, code, std::move(reason), loaded});
  };
  auto fail = [&](size_t index, const std::string& code, std::string reason) {
    problem(index, code, std::move(reason), false);
    merge.outcomes.push_back(RowOutcome::kFailed);
    ++merge.failed;
  };
  std::vector<std::pair<size_t, std::string>> parents;  // stream index, wanted parent
  std::vector<size_t> row_index(stream.size(), SIZE_MAX);
  absl::flat_hash_map<size_t, ClassRow> before;  // stream index -> the stored row it replaces
  for (size_t i = 0; i < stream.size(); ++i) {
    const ClassRow& in = stream[i].row;
    absl::StatusOr<std::string> code = NormalizeCode(scheme, in.code);
    if (!code.ok()) {
      fail(i, in.code, std::string(code.status().message()));
      continue;
    }
    std::string parent;
    if (!Trimmed(in.parent).empty()) {
      absl::StatusOr<std::string> p = NormalizeCode(scheme, in.parent);
      if (!p.ok()) {
        fail(i, *code, absl::StrCat("parent: ", p.status().message()));
        continue;
      }
      parent = *p;
    }
    if (auto seen = first_in_stream.find(*code); seen != first_in_stream.end()) {
      fail(i, *code,
           absl::StrCat("duplicate of row ", seen->second + 1, " (", stream[seen->second].origin,
                        "): the first is kept"));
      continue;
    }
    if (scheme == kClc) {
      auto same_key = key_of.find(LookupKey(*code));
      if (same_key != key_of.end() && merge.rows[same_key->second].code != *code) {
        fail(i, *code,
             absl::StrCat("is the same class as ", merge.rows[same_key->second].code,
                          " (they differ only by brackets or dots)"));
        continue;
      }
    }
    first_in_stream.emplace(*code, i);
    std::string name = in.name;
    if (CleanName(&name)) {
      problem(i, *code,
              name.empty() ? "damaged name (markup only): loaded without a name"
                           : absl::StrCat("damaged name cleaned to `", name, "`"),
              true);
    }
    ClassRow row{*code, parent, name};
    auto at = row_of.find(*code);
    if (at == row_of.end()) {
      row_index[i] = merge.rows.size();
      row_of.emplace(*code, merge.rows.size());
      if (scheme == kClc) key_of.emplace(LookupKey(*code), merge.rows.size());
      merge.rows.push_back(std::move(row));
      merge.outcomes.push_back(RowOutcome::kCreated);
    } else {
      row_index[i] = at->second;
      before.emplace(i, merge.rows[at->second]);
      merge.rows[at->second] = std::move(row);
      merge.outcomes.push_back(RowOutcome::kUnchanged);  // decided below
    }
    if (!parent.empty()) parents.push_back({i, parent});
  }
  // Parents: unknown ones make roots; one that would close a cycle is refused
  // (the row keeps its earlier parent, or becomes a root).
  for (const auto& [i, parent] : parents) {
    ClassRow& row = merge.rows[row_index[i]];
    if (row_of.find(parent) == row_of.end()) {
      problem(i, row.code, absl::StrCat("unknown parent ", parent, ": loaded as a root"), true);
      row.parent.clear();
      continue;
    }
    size_t steps = 0;
    for (std::string p = parent; !p.empty() && steps <= merge.rows.size(); ++steps) {
      if (p == row.code) {
        problem(i, row.code,
                absl::StrCat("parent ", parent, " would make a cycle: loaded as a root"), true);
        row.parent.clear();
        break;
      }
      auto up = row_of.find(p);
      p = up == row_of.end() ? "" : merge.rows[up->second].parent;
    }
  }
  for (const auto& [i, old] : before) {
    const ClassRow& row = merge.rows[row_index[i]];
    if (old.parent != row.parent || old.name != row.name) merge.outcomes[i] = RowOutcome::kUpdated;
  }
  std::stable_sort(
      merge.problems.begin(), merge.problems.end(),
      [](const ImportProblem& a, const ImportProblem& b) { return a.index < b.index; });
  for (RowOutcome o : merge.outcomes) {
    if (o == RowOutcome::kCreated) ++merge.created;
    if (o == RowOutcome::kUpdated) ++merge.updated;
    if (o == RowOutcome::kUnchanged) ++merge.unchanged;
  }
  return merge;
}

}  // namespace thesis::domain::classes
