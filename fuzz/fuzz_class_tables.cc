// libFuzzer target for classification tables: the file reader
// (thesis_formats ParseClassTable) and then what the server does with its
// rows (domain::classes::MergeTable into the built-in table, and
// SchemeTree::Build of the result). Besides not crashing, it checks that
// every row read has a code and an origin in the file, that the merge
// accounts for every row, and that whatever the merge keeps always builds a
// tree: a bad table can be reported, never half-loaded.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "server/domain/class_tree.h"
#include "thesis/formats/class_tables.h"

// Aborts naming the broken invariant, so that a crash report says which.
#define CHECK_INVARIANT(ok)                                                     \
  do {                                                                          \
    if (!(ok)) {                                                                \
      std::fprintf(stderr, "invariant broken at line %d: %s\n", __LINE__, #ok); \
      std::abort();                                                             \
    }                                                                           \
  } while (false)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace f = thesis::formats;
  namespace c = thesis::domain::classes;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const f::ClassTable table = f::ParseClassTable(input, "fuzz");
  for (const f::ClassTableProblem& p : table.problems) {
    CHECK_INVARIANT(p.line >= 1 && absl::StartsWith(p.origin, "fuzz:"));
  }
  std::vector<c::ImportRow> rows;
  for (const thesis::v1::ClassRow& r : table.rows) {
    CHECK_INVARIANT(!r.code().empty() && absl::StartsWith(r.origin(), "fuzz:"));
    rows.push_back({{r.code(), r.parent(), r.display_name()}, r.origin()});
  }
  for (const char* scheme : {c::kClc, c::kDiscipline}) {
    const c::TableMerge merge = c::MergeTable(scheme, c::BuiltinRows(scheme), rows);
    CHECK_INVARIANT(merge.outcomes.size() == rows.size());
    CHECK_INVARIANT(merge.created + merge.updated + merge.unchanged + merge.failed ==
                    static_cast<int64_t>(rows.size()));
    for (const c::ImportProblem& p : merge.problems) CHECK_INVARIANT(p.index < rows.size());
    const auto tree = c::SchemeTree::Build(scheme, merge.rows);
    if (!tree.ok()) std::fprintf(stderr, "%s: %s\n", scheme, tree.status().ToString().c_str());
    CHECK_INVARIANT(tree.ok());
  }
  return 0;
}
