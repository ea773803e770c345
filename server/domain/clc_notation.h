// Chinese Library Classification (CLC, 中图法) notation: normalizing,
// splitting and parsing the codes written on records, and resolving them
// against a loaded classification table. Pure functions and values: no
// gRPC, no SQL. Groundwork for the ClassificationService.
//
// Notation handled (examples from the 5th edition table):
//   plain classes            D630, TP311.13, TJ011.+1, D922.291.91
//   general subdivisions     B-4, B80-0, S851.34+5.1-27
//   ranges                   B31/39, C829.3/.7, E292/294.9, T-013/-017
//   `+` notation             O156.2+1, Q959.212+.2
//   alternative classes      [B019.13], [D664.1/.7]
//   discontinued classes     {B916}
//   auxiliary parts          (...), =..., "...", <...>, :... after the class
//
// The class part (without brackets and auxiliary parts) of every parsed code
// satisfies IsValidClassificationCode (server/domain/thesis_validation.h).
#ifndef THESIS_SERVER_DOMAIN_CLC_NOTATION_H_
#define THESIS_SERVER_DOMAIN_CLC_NOTATION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace thesis::domain::clc {

// Full-width ASCII forms (U+FF01..U+FF5E, e.g. `ＴＰ３１１．１３`, `；`, `［`)
// become ASCII, U+3000 and U+00A0 become a space, curly double quotes become
// `"`, U+2212 becomes `-`. Everything else is kept as is.
std::string ToHalfWidth(absl::string_view text);

// ToHalfWidth, then every whitespace character removed and ASCII letters
// upper-cased: ` ｔｐ 311．13 ` -> `TP311.13`.
std::string NormalizeClc(absl::string_view raw);

// Splits a multi-code field as CNKI writes it (`TP311.13;TP391`,
// `D630；D035`, `F832.5,F830`) into normalized codes, dropping empty parts.
// Separators:
//   `;` and `,` (and their full-width forms) always;
//   `/` only when the next non-space character starts a new code, that is, is
//       a letter or `[` / `{` (`TP391/TP311` is two codes); otherwise it is
//       the end of a range (`B31/39`, `C829.3/.7`, `T-013/-017` are one code
//       each), so a range must be written with its short end;
//   whitespace only between a complete code and a new one: after a digit or
//       a closing `]`, `}`, `)`, `"`, `>` and before a letter or `[` / `{`
//       (`D630 D035` is two codes, `TP 311` is one).
std::vector<std::string> SplitCodes(absl::string_view field);

// One auxiliary part written after the class.
struct ClcAuxiliary {
  enum class Kind {
    kParentheses,  // (...): usually a country/region subdivision
    kEquals,       // =...: usually a period of time
    kQuotes,       // "...": usually an ethnic group
    kAngles,       // <...>: general time/place
    kColon,        // :...: colon combination with another class
  };
  Kind kind;
  std::string text;  // without the delimiters: `(712)` -> `712`
};

struct ClcCode {
  enum class Kind { kClass, kRange };

  std::string normalized;  // the whole code, normalized: `[B019.13]`, `D829(712)`
  std::string code;        // the class: no brackets, no auxiliary parts: `B019.13`, `B31/39`
  Kind kind = Kind::kClass;
  bool alternative = false;              // written in [...]
  bool discontinued = false;             // written in {...}
  std::string main_class;                // the letters: `TP`
  std::string number;                    // after the letters, before `+`, `-`, `/`: `311.13`
  bool has_plus = false;                 // `+` notation: `O156.2+1`
  bool has_general_subdivision = false;  // `-` notation: `B-4`, `B80-0`
  // Ranges: the first and the last class, the end written out in full:
  // `E292/294.9` -> `E292`, `E294.9`; `C829.3/.7` -> `C829.3`, `C829.7`.
  std::string range_start;
  std::string range_end;
  std::vector<ClcAuxiliary> auxiliaries;
  // Oddities that did not stop the parse: a missing closing bracket, a range
  // whose end is not after its start.
  std::vector<std::string> problems;
};

// Parses one code (normalizing it first). INVALID_ARGUMENT when the class is
// not CLC notation at all (`abc`, `TP311..1`, `B31/`, empty) or an auxiliary
// part is empty.
absl::StatusOr<ClcCode> ParseClc(absl::string_view raw);

// The lookup key of a class: its notation with the dots removed
// (`TP311.13` -> `TP31113`, `TJ011.+1` -> `TJ011+1`), so that a code
// resolves whatever the dots (the table has no two codes differing by dots).
std::string ClcKey(absl::string_view code);

// How a code stands against a table.
struct ClcResolution {
  enum class Status {
    kExact,       // the class itself is in the table
    kAncestor,    // deeper than the table: resolved to its nearest known class
    kUnresolved,  // no known class above it: kept and flagged
  };
  std::string code;  // the class resolved (ClcCode::code)
  Status status = Status::kUnresolved;
  // The known classes from the nearest (the code itself when kExact) up to
  // the root, as the table writes them: `B516`, `B51/56`, `B5`, `B`. Empty
  // when kUnresolved.
  std::vector<std::string> chain;
  // Flags of the nearest known class in the table.
  bool alternative = false;
  bool discontinued = false;
};

// Resolutions of a whole field, and the counts a report shows.
struct ClcFieldResolution {
  struct Entry {
    std::string raw;           // the split part (normalized)
    std::string error;         // why it did not parse; empty when it did
    ClcCode parsed;            // when it parsed
    ClcResolution resolution;  // when it parsed
  };
  std::vector<Entry> entries;
  int exact = 0;
  int ancestor = 0;
  int unresolved = 0;
  int invalid = 0;
};

// A loaded classification table: classes with their parents. Lookups are by
// ClcKey in a hash map; ranges are kept in lists by the common prefix of
// their two ends, so resolving costs a few hash lookups per character.
class ClcTree {
 public:
  struct Entry {
    std::string code;    // as the table writes it: `B31/39`, `[B019.13]`, `{B916}`
    std::string parent;  // empty for a root
    std::string name;
  };

  // Fails when a code does not parse. A repeated code keeps its first entry
  // (counted in duplicates()); an unknown parent makes a root (counted in
  // orphans()).
  static absl::StatusOr<ClcTree> FromEntries(const std::vector<Entry>& entries);
  // `code\tname\tlevel\tparent` lines, with or without the header line
  // (../shared/data/clc/clc5.tsv).
  static absl::StatusOr<ClcTree> FromTsv(absl::string_view tsv);

  size_t size() const { return nodes_.size(); }
  int duplicates() const { return duplicates_; }
  int orphans() const { return orphans_; }

  // The table's spelling and name of a class, looked up by its class
  // (brackets and dots do not matter); nullptr when not in the table.
  const std::string* Find(absl::string_view code) const;
  const std::string* Name(absl::string_view code) const;

  ClcResolution Resolve(const ClcCode& code) const;
  // Parses, then resolves.
  absl::StatusOr<ClcResolution> Resolve(absl::string_view raw) const;
  // SplitCodes, ParseClc and Resolve for each part, with counts.
  ClcFieldResolution ResolveField(absl::string_view field) const;

 private:
  struct Node {
    std::string code;  // table spelling
    std::string name;
    std::string parent_code;
    int parent = -1;
    int depth = 0;
    bool alternative = false;
    bool discontinued = false;
  };
  struct Range {
    int node;
    std::string start_rest;  // the start key after the common prefix
    std::string end_rest;    // the end key after the common prefix
  };

  bool InRange(const Range& range, size_t prefix_size, absl::string_view key) const;
  // The deepest known class containing `key` (and `also`, when not empty);
  // -1 when none. `min_prefix`: shortest prefix of `key` to try.
  int Nearest(absl::string_view key, absl::string_view also, size_t min_prefix) const;

  std::vector<Node> nodes_;
  absl::flat_hash_map<std::string, int> by_key_;
  absl::flat_hash_map<std::string, std::vector<Range>> ranges_by_prefix_;
  int duplicates_ = 0;
  int orphans_ = 0;
};

}  // namespace thesis::domain::clc

#endif  // THESIS_SERVER_DOMAIN_CLC_NOTATION_H_
