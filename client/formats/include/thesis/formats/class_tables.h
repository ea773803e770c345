// Readers for classification tables (the Chinese Library Classification and
// the degree discipline catalogue), turning a file into the
// thesis::v1::ClassRow rows that ClassificationService.ImportClasses takes.
//
// Like the CNKI readers (cnki_formats.h) these make no calls and need no
// server: ParseClassTable() takes the raw bytes of a file, decodes them with
// DecodeToUtf8() (UTF-8 with or without BOM, UTF-16 with a BOM, otherwise
// GB18030/GBK; CRLF and CR become LF) and detects the format from the
// content, not from the file name:
//
//   * Nested JSON (clc5-tree.json): a top-level array of
//     {"code": ..., "name": ..., "children": [...]} nodes, in any key order;
//     other keys are ignored. Rows come out depth-first in file order (a
//     parent before its children), each child with parent = the code of the
//     node it is nested in. A node without a code (or with a value of the
//     wrong type) is a problem and is skipped with everything below it. A
//     JSON syntax error is one problem and the file gives no rows: where the
//     structure breaks, which parent a later node belongs to is unknown.
//   * Flat TSV with a header naming `code`, `name` and `parent` columns
//     (clc5.tsv: code, name, level, parent); other columns are ignored and
//     an empty parent is a root.
//   * Discipline category TSV (`category_code`, `category_name`): one root
//     per line.
//   * Discipline TSV with categories and disciplines (`category_code`,
//     `category_name` and `discipline_code`/`discipline_name` or
//     `code`/`name`, as the 2011 and 2022 catalogues): each category once, as
//     a root, at its first line, and every discipline under its category, so
//     one file gives the whole two-level tree.
//   In the TSV formats cells are trimmed, blank lines skipped, and a line with
//   another number of cells than the header, or with an empty code, is a
//   problem and skipped; the other lines load. Trailing `note`/`kind` cells
//   may be missing (editors strip trailing tabs).
//
// Codes and names are passed on as written (after trimming): whether a code
// is valid notation, a duplicate, or names an unknown parent is the
// service's decision, which it reports per row.
//
// Origins: `FILE:LINE` for TSV rows, `FILE:LINE:COLUMN` for JSON nodes (the
// position of the node's `{`, the column counted in characters; clc5-tree.json is a single line, so
// the column is what tells nodes apart), with FILE as given.
#ifndef THESIS_FORMATS_CLASS_TABLES_H_
#define THESIS_FORMATS_CLASS_TABLES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "thesis/v1/classification.pb.h"

namespace thesis::formats {

enum class ClassTableFormat { kUnknown, kJsonTree, kFlatTsv, kCategoryTsv, kDisciplineTsv };

// "unknown", "JSON tree", "code/name/parent TSV", "discipline category TSV",
// "discipline TSV".
absl::string_view ClassTableFormatName(ClassTableFormat format);

// From decoded text: '[' as the first non-blank character is the JSON tree;
// otherwise the header line decides. kUnknown when nothing fits.
ClassTableFormat DetectClassTableFormat(absl::string_view utf8);

struct ClassTableProblem {
  // `FILE:LINE` or `FILE:LINE:COLUMN`, as the rows' origins.
  std::string origin;
  // 1-based (1 when the file is unreadable).
  int line = 0;
  std::string reason;
};

struct ClassTable {
  ClassTableFormat format = ClassTableFormat::kUnknown;
  std::vector<thesis::v1::ClassRow> rows;
  std::vector<ClassTableProblem> problems;
};

// Decodes, detects and reads a whole file. A decode failure or an
// unrecognised non-empty file is one problem at line 1; an empty file gives
// nothing. At most 10,000 problems are listed, then one more says how many
// were left out.
ClassTable ParseClassTable(absl::string_view bytes, absl::string_view file_name);

// The readers, on text that is already UTF-8 (a leading BOM and CR before LF
// are tolerated).
ClassTable ParseClassTreeJson(absl::string_view utf8, absl::string_view file_name);
ClassTable ParseClassTsv(absl::string_view utf8, absl::string_view file_name);

}  // namespace thesis::formats

#endif  // THESIS_FORMATS_CLASS_TABLES_H_
