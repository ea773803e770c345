// Helpers shared by the format readers and writers: UTF-8 and text handling,
// list splitting, value parsing, and the record check (the service's own
// rules, from the thesis_rules library).
#ifndef THESIS_CLIENT_FORMATS_SRC_INTERNAL_H_
#define THESIS_CLIENT_FORMATS_SRC_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "thesis/formats/cnki_formats.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::formats::internal {

// Longest piece of input (a record type, a bad value) quoted in a Problem.
inline constexpr size_t kMaxQuoteBytes = 80;

// Well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool IsValidUtf8(absl::string_view s);
// Invalid sequences replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view s);
// For messages: sanitized, cut at a character boundary to about `max_bytes`
// with "..." appended when cut.
std::string Quote(absl::string_view s, size_t max_bytes = kMaxQuoteBytes);

// True when `s` has a Han (Chinese) character.
bool HasHan(absl::string_view s);

// Strips ASCII whitespace and U+3000 (ideographic space) at both ends.
absl::string_view Trim(absl::string_view s);

// Splits a list value on ';' and '；'. Without a semicolon, also on ',' and
// '，' when `comma` is true. Items trimmed, empties dropped.
std::vector<std::string> SplitList(absl::string_view value, bool comma);
// Persons: comma splitting only when the value has Han characters.
std::vector<std::string> SplitPersons(absl::string_view value);
// Keywords: comma splitting whenever there is no semicolon.
std::vector<std::string> SplitKeywords(absl::string_view value);

// First four ASCII digits of the trimmed value, not followed by a fifth.
bool ParseYear(absl::string_view value, int* year);

// A line of the input without its '\n' (and without a trailing '\r').
struct Line {
  absl::string_view text;
  int number = 0;
};

// Reads `text` line by line without copying (no per-line memory, so huge
// inputs of empty lines cost nothing); drops a leading UTF-8 BOM; no line
// for the empty piece after a final '\n'.
class LineReader {
 public:
  explicit LineReader(absl::string_view text);
  bool Next(Line* line);

 private:
  absl::string_view text_;
  size_t pos_ = 0;
  int number_ = 0;
};

// Per record, further fields (or title lines) are not kept and the record
// is malformed: bounds memory on hostile input.
inline constexpr size_t kMaxFieldsPerRecord = 10000;
// Problems listed per file; the rest are counted in one last problem.
inline constexpr size_t kMaxProblems = 10000;

// Adds problems to a ParseResult up to kMaxProblems; Finish() appends the
// count of the ones left out.
class ProblemList {
 public:
  ProblemList(ParseResult* result, absl::string_view file) : result_(result), file_(file) {}
  void Malformed(int line, std::string reason);
  void Skipped(int line, absl::string_view type);
  void Finish();

 private:
  void Add(Problem problem);
  ParseResult* result_;
  absl::string_view file_;
  size_t left_out_ = 0;
  int first_left_out_line_ = 0;
};

// First reason the service would reject `thesis` for ("field: why", from
// the service's own rules in server/domain/thesis_validation.h), or "".
std::string CheckThesis(const thesis::v1::Thesis& thesis);

// Sets language from the titles and abstracts ("zh" or "en").
void SetLanguage(thesis::v1::Thesis* thesis);

// Record-type values that mean a thesis: "Thesis", "Dissertation",
// "Dissertation/Thesis", 学位论文 (case-insensitive for ASCII).
bool IsThesisType(absl::string_view type);

// True when `text` is '{' ... '}' with brackets nested at most `max_depth`
// deep outside strings. Screens lines before protobuf's JSON parser, which
// is slow on deeply nested input (minutes for 60,000 nested arrays); a
// Thesis needs a depth of 2.
bool IsShallowJsonObject(absl::string_view text, int max_depth);
inline constexpr int kMaxJsonDepth = 8;

// Is `line` the first line of a record of that format (tagged.cc)? For
// DetectFormat.
bool IsRefWorksStart(absl::string_view line);
bool IsEndNoteStart(absl::string_view line);
bool IsNoteExpressStart(absl::string_view line);
// Is `line` a CNKI page field line with a known name, like 【作者】 (page.cc)?
bool IsCnkiPageField(absl::string_view line);

// A malformed-record problem.
Problem Malformed(absl::string_view file, int line, std::string reason);

}  // namespace thesis::formats::internal

#endif  // THESIS_CLIENT_FORMATS_SRC_INTERNAL_H_
