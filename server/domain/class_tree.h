// Classification schemes as trees: the CLC (`clc`) and the degree
// discipline catalogue (`discipline`). A SchemeTree is an immutable loaded
// table; it places theses in classes (the rule both storage backends use, so
// counts mean the same everywhere) and checks tables being imported. Pure
// logic: no gRPC, no SQL.
#ifndef THESIS_SERVER_DOMAIN_CLASS_TREE_H_
#define THESIS_SERVER_DOMAIN_CLASS_TREE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/clc_notation.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain::classes {

inline constexpr char kClc[] = "clc";
inline constexpr char kDiscipline[] = "discipline";
// Pseudo classes every scheme counts in, next to its real classes:
// theses with a code that resolves nowhere, theses with no code, and
// theses placed in at least one real class.
inline constexpr char kUnresolved[] = "~unresolved";
inline constexpr char kNone[] = "~none";
inline constexpr char kClassified[] = "~classified";

bool IsScheme(absl::string_view scheme);
const std::vector<std::string>& Schemes();  // clc, discipline
bool IsPseudoCode(absl::string_view code);

// One row of a table: parent empty for a root.
struct ClassRow {
  std::string code;
  std::string parent;
  std::string name;
};

// The built-in defaults of `scheme` (server/domain/builtin_classes.inc),
// the same rows migrations/0006 loads.
std::vector<ClassRow> BuiltinRows(absl::string_view scheme);

// Where a thesis counts: each class once, sorted by code; `direct` for the
// classes its codes resolve to (and for the pseudo classes).
struct Placement {
  std::vector<std::pair<std::string, bool>> classes;
  bool operator==(const Placement& other) const { return classes == other.classes; }
};

class SchemeTree {
 public:
  struct Node {
    std::string code;  // as the table writes it (CLC: normalized)
    std::string name;
    std::string parent;  // empty for a root
    int parent_index = -1;
    int level = 1;
    std::vector<int> children;  // in table order
    bool alternative = false;
    bool discontinued = false;
  };

  // Rows in table order; each code once and every parent known before the
  // tree is built (ImportTable makes sure of that). INVALID_ARGUMENT when
  // not.
  static absl::StatusOr<std::shared_ptr<const SchemeTree>> Build(std::string scheme,
                                                                 const std::vector<ClassRow>& rows,
                                                                 int64_t generation = 0);

  const std::string& scheme() const { return scheme_; }
  int64_t generation() const { return generation_; }
  size_t size() const { return nodes_.size(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int>& roots() const { return roots_; }
  // The node of a code as the table writes it (CLC: any spelling that
  // normalizes to it); -1 when unknown.
  int Find(absl::string_view code) const;
  // From the root down to the node's parent.
  std::vector<int> PathTo(int index) const;
  // The ancestor of `index` at `level` (itself when at it); -1 when the
  // node is above that level.
  int AncestorAt(int index, int level) const;

  Placement Place(const thesis::v1::Thesis& thesis) const;
  // The classes a thesis's codes resolve to (direct placements), in order.
  std::vector<int> DirectClasses(const thesis::v1::Thesis& thesis) const;

  // CLC only (nullptr for other schemes).
  const clc::ClcTree* clc() const { return clc_.get(); }

 private:
  int PlaceDiscipline(absl::string_view discipline) const;

  std::string scheme_;
  int64_t generation_ = 0;
  std::vector<Node> nodes_;
  std::vector<int> roots_;
  absl::flat_hash_map<std::string, int> by_code_;
  absl::flat_hash_map<std::string, int> by_name_;  // discipline: names too
  std::unique_ptr<clc::ClcTree> clc_;
};

// ---- Importing a table ---------------------------------------------------

struct ImportRow {
  ClassRow row;
  std::string origin;  // file:line, for the report
};

struct ImportProblem {
  size_t index = 0;  // in the stream
  std::string code;
  std::string reason;
  bool loaded = false;
};

enum class RowOutcome { kCreated, kUpdated, kUnchanged, kFailed };

struct TableMerge {
  // The whole table after the import, in table order: existing rows first
  // (in their order, changed where the stream changed them), new rows after
  // them in stream order.
  std::vector<ClassRow> rows;
  std::vector<RowOutcome> outcomes;  // one per stream row
  std::vector<ImportProblem> problems;
  int64_t created = 0, updated = 0, unchanged = 0, failed = 0;
};

// Checks and merges `stream` into `existing` (the stored table, in order):
// codes are normalized (CLC notation must parse; discipline codes are 2, 4
// or 6 digits), a repeated code keeps its first row, a damaged name (HTML
// left in it, as in `</a>`) is cleaned and kept, an unknown parent makes a
// root, a row that would close a cycle is refused. Problems are reported,
// never fatal.
TableMerge MergeTable(absl::string_view scheme, const std::vector<ClassRow>& existing,
                      const std::vector<ImportRow>& stream);

}  // namespace thesis::domain::classes

#endif  // THESIS_SERVER_DOMAIN_CLASS_TREE_H_
