// The three tagged formats CNKI exports (RefWorks, EndNote/Refer,
// NoteExpress): one block splitter, one tag recogniser and one field mapping
// per format.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "builder.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using internal::Builder;
using internal::Line;

struct Field {
  absl::string_view tag;
  // The text after the tag, with continuation lines appended as they are.
  std::string value;
  int line = 0;
};

struct Block {
  int line = 0;
  // false: lines outside any record (no record-type tag first).
  bool typed = false;
  std::vector<Field> fields;
  // More than kMaxFieldsPerRecord fields: the rest were not kept.
  bool too_many_fields = false;
};

// Returns true and sets tag/value when `line` is a tag line of the format.
using TagMatcher = bool (*)(absl::string_view line, absl::string_view* tag,
                            absl::string_view* value);
using FieldMapper = void (*)(const Block& block, Builder* builder);

struct Spec {
  Format format;
  absl::string_view type_tag;
  // The type tag as written in the file, for messages.
  absl::string_view type_label;
  TagMatcher match;
  FieldMapper map;
};

// Turns one block into a record or a problem.
void Finish(const Block& block, const Spec& spec, ParseResult* result,
            internal::ProblemList* problems) {
  if (!block.typed) {
    problems->Malformed(
        block.line, absl::StrCat("text outside a record (a ", FormatName(spec.format),
                                 " record starts with ", spec.type_label, " after a blank line)"));
    return;
  }
  absl::string_view type = internal::Trim(block.fields.front().value);
  if (type.empty()) {
    problems->Malformed(block.line, absl::StrCat("empty record type ", spec.type_label));
    return;
  }
  if (!internal::IsThesisType(type)) {
    problems->Skipped(block.line, type);
    return;
  }
  if (block.too_many_fields) {
    problems->Malformed(block.line, absl::StrCat("more than ", internal::kMaxFieldsPerRecord,
                                                 " fields in one record"));
    return;
  }
  Builder builder;
  spec.map(block, &builder);
  internal::SetLanguage(&builder.thesis());
  std::string reason = builder.error();
  if (reason.empty()) reason = internal::CheckThesis(builder.thesis());
  if (!reason.empty()) {
    problems->Malformed(block.line, std::move(reason));
    return;
  }
  Record record;
  record.thesis = std::move(builder.thesis());
  record.line = block.line;
  result->records.push_back(std::move(record));
}

// A record starts at its type-tag line and ends at a blank line or at the
// next type-tag line. Non-blank lines after a blank line that do not start a
// record form an untyped block, up to the next blank or type-tag line. Each
// block is finished as soon as it ends, so memory stays per record.
ParseResult ParseTagged(absl::string_view utf8, absl::string_view file, const Spec& spec) {
  ParseResult result;
  result.format = spec.format;
  internal::ProblemList problems(&result, file);
  Block block;
  bool have_block = false;
  bool open = false;
  auto start_block = [&](int line, bool typed) {
    if (have_block) Finish(block, spec, &result, &problems);
    block = Block();
    block.line = line;
    block.typed = typed;
    have_block = true;
    open = true;
  };
  internal::LineReader reader(utf8);
  Line line;
  while (reader.Next(&line)) {
    if (internal::Trim(line.text).empty()) {
      open = false;
      continue;
    }
    absl::string_view tag;
    absl::string_view value;
    const bool is_tag = spec.match(line.text, &tag, &value);
    if (is_tag && tag == spec.type_tag) {
      start_block(line.number, true);
      block.fields.push_back({tag, std::string(value), line.number});
      continue;
    }
    if (!open) {
      start_block(line.number, false);
      continue;
    }
    if (!block.typed) continue;
    if (is_tag) {
      if (block.fields.size() < internal::kMaxFieldsPerRecord) {
        block.fields.push_back({tag, std::string(value), line.number});
      } else {
        block.too_many_fields = true;
      }
    } else if (!block.too_many_fields) {
      block.fields.back().value.append(line.text.data(), line.text.size());
    }
  }
  if (have_block) Finish(block, spec, &result, &problems);
  problems.Finish();
  return result;
}

// ---- RefWorks ----

// The RefWorks tagged-format tags, plus CNKI's lowercase "vo".
bool IsRefWorksTag(absl::string_view tag) {
  static constexpr absl::string_view kTags[] = {
      "RT", "SR", "ID", "A1", "A2", "A3", "A4", "A5", "A6", "T1", "T2", "T3", "OT", "TT", "JF",
      "JO", "J1", "J2", "YR", "FD", "VO", "vo", "IS", "SP", "OP", "K1", "AB", "NO", "ED", "PB",
      "PP", "SN", "AV", "AD", "AN", "LA", "CL", "SF", "LK", "DO", "CN", "DB", "DS", "IP", "RD",
      "ST", "U1", "U2", "U3", "U4", "U5", "UL", "WT", "WV", "WP", "OL", "CR", "C1", "C2", "C3"};
  for (absl::string_view known : kTags) {
    if (tag == known) return true;
  }
  return false;
}

// "XX value" with a known tag. CNKI also writes the author tag without the
// space ("A1林行众"), so A1-A6 may be followed directly by a non-ASCII
// character; other tags need a space (or nothing) after them, which keeps
// continuation lines such as "AD患者..." as text.
bool MatchRefWorks(absl::string_view line, absl::string_view* tag, absl::string_view* value) {
  size_t len;
  if (absl::StartsWith(line, "URL")) {
    len = 3;
  } else if (line.size() >= 2 && IsRefWorksTag(line.substr(0, 2))) {
    len = 2;
  } else {
    return false;
  }
  if (line.size() > len) {
    const unsigned char next = static_cast<unsigned char>(line[len]);
    const bool person = len == 2 && line[0] == 'A' && line[1] >= '1' && line[1] <= '6';
    if (next != ' ' && next != '\t' && !(person && next >= 0x80)) return false;
  }
  *tag = line.substr(0, len);
  *value = line.substr(len);
  return true;
}

void MapRefWorks(const Block& block, Builder* b) {
  absl::string_view db;
  absl::string_view ds;
  for (const Field& f : block.fields) {
    const absl::string_view t = f.tag;
    if (t == "A1") {
      b->Authors(f.value);
    } else if (t == "A3") {
      b->Advisors(f.value);
    } else if (t == "T1" || t == "OT") {
      b->Title(f.value);
    } else if (t == "PB") {
      b->Once(b->thesis().mutable_institution(), f.value);
    } else if (t == "CL") {
      b->Degree(f.value);
    } else if (t == "YR") {
      b->Year("YR", f.value, f.line);
    } else if (t == "K1") {
      b->Keywords(f.value);
    } else if (t == "AB") {
      b->Abstract(f.value);
    } else if (t == "LK" || t == "UL" || t == "URL") {
      b->Url(f.value);
    } else if (t == "DB") {
      if (db.empty()) db = internal::Trim(f.value);
    } else if (t == "DS") {
      if (ds.empty()) ds = internal::Trim(f.value);
    } else if (t == "AN") {
      b->RecordId(f.value);
    }
  }
  b->Database(db.empty() ? ds : db);
}

// ---- EndNote / Refer ----

// "%X value": '%', one printable ASCII character, then a space or the end.
bool MatchEndNote(absl::string_view line, absl::string_view* tag, absl::string_view* value) {
  if (line.size() < 2 || line[0] != '%' || line[1] <= ' ' || line[1] > '~') return false;
  if (line.size() > 2 && line[2] != ' ' && line[2] != '\t') return false;
  *tag = line.substr(0, 2);
  *value = line.substr(2);
  return true;
}

void MapEndNote(const Block& block, Builder* b) {
  absl::string_view journal;
  absl::string_view publisher;
  for (const Field& f : block.fields) {
    const absl::string_view t = f.tag;
    if (t == "%A") {
      b->Authors(f.value);
    } else if (t == "%T") {
      b->Title(f.value);
    } else if (t == "%Y") {
      b->Advisors(f.value);
    } else if (t == "%J") {
      if (journal.empty()) journal = internal::Trim(f.value);
    } else if (t == "%I") {
      if (publisher.empty()) publisher = internal::Trim(f.value);
    } else if (t == "%9") {
      b->Degree(f.value);
    } else if (t == "%D") {
      b->Year("%D", f.value, f.line);
    } else if (t == "%K") {
      b->Keywords(f.value);
    } else if (t == "%X") {
      b->Abstract(f.value);
    } else if (t == "%U") {
      b->Url(f.value);
    } else if (t == "%W") {
      b->Database(f.value);
    } else if (t == "%M") {
      b->RecordId(f.value);
    }
  }
  b->Once(b->thesis().mutable_institution(), journal.empty() ? publisher : journal);
}

// ---- NoteExpress ----

// "{Name}: value", the name at most 100 bytes without braces.
bool MatchNoteExpress(absl::string_view line, absl::string_view* tag, absl::string_view* value) {
  if (line.empty() || line[0] != '{') return false;
  const size_t close = line.substr(0, 102).find("}:");
  if (close == absl::string_view::npos || close < 2) return false;
  absl::string_view name = line.substr(1, close - 1);
  if (absl::StrContains(name, '{') || absl::StrContains(name, '}')) return false;
  *tag = name;
  *value = line.substr(close + 2);
  return true;
}

void MapNoteExpress(const Block& block, Builder* b) {
  absl::string_view journal;
  absl::string_view publisher;
  absl::string_view provider;
  absl::string_view doi;
  absl::string_view date;
  bool has_year = false;
  for (const Field& f : block.fields) {
    const absl::string_view t = f.tag;
    if (t == "Title" || t == "Translated Title") {
      b->Title(f.value);
    } else if (t == "Author") {
      b->Authors(f.value);
    } else if (t == "Tertiary Author") {
      b->Advisors(f.value);
    } else if (t == "Journal") {
      if (journal.empty()) journal = internal::Trim(f.value);
    } else if (t == "Publisher") {
      if (publisher.empty()) publisher = internal::Trim(f.value);
    } else if (t == "Type of Work") {
      b->Degree(f.value);
    } else if (t == "Year") {
      has_year = has_year || !internal::Trim(f.value).empty();
      b->Year("{Year}", f.value, f.line);
    } else if (t == "Date") {
      if (date.empty()) date = internal::Trim(f.value);
    } else if (t == "Keywords") {
      b->Keywords(f.value);
    } else if (t == "Abstract") {
      b->Abstract(absl::StrReplaceAll(f.value, {{"(#br)", "\n"}}));
    } else if (t == "URL") {
      b->Url(f.value);
    } else if (t == "Database Provider") {
      if (provider.empty()) provider = internal::Trim(f.value);
    } else if (t == "DOI") {
      if (doi.empty()) doi = internal::Trim(f.value);
    }
  }
  if (!has_year && !date.empty()) b->Year("{Date}", date, block.line);
  // Older CNKI variant: {DOI}: CNKI:CDMD:2.1012.xxxx, university in {Journal}.
  bool older = false;
  if (absl::StartsWith(doi, "CNKI:")) {
    std::vector<absl::string_view> parts = absl::StrSplit(doi, absl::MaxSplits(':', 2));
    if (parts.size() == 3 && !internal::Trim(parts[1]).empty()) {
      older = true;
      b->Database(parts[1]);
      b->RecordId(parts[2]);
    }
  }
  if (older) {
    b->Once(b->thesis().mutable_institution(), journal.empty() ? publisher : journal);
  } else {
    b->Once(b->thesis().mutable_institution(), publisher.empty() ? journal : publisher);
  }
  b->Database(provider);
}

}  // namespace

ParseResult ParseRefWorks(absl::string_view utf8, absl::string_view file_name) {
  static constexpr Spec kSpec{Format::kRefWorks, "RT", "RT", &MatchRefWorks, &MapRefWorks};
  return ParseTagged(utf8, file_name, kSpec);
}

ParseResult ParseEndNote(absl::string_view utf8, absl::string_view file_name) {
  static constexpr Spec kSpec{Format::kEndNote, "%0", "%0", &MatchEndNote, &MapEndNote};
  return ParseTagged(utf8, file_name, kSpec);
}

ParseResult ParseNoteExpress(absl::string_view utf8, absl::string_view file_name) {
  static constexpr Spec kSpec{Format::kNoteExpress, "Reference Type", "{Reference Type}",
                              &MatchNoteExpress, &MapNoteExpress};
  return ParseTagged(utf8, file_name, kSpec);
}

namespace internal {

// Used by DetectFormat: is `line` the first line of a record of that format?
bool IsRefWorksStart(absl::string_view line) {
  absl::string_view tag;
  absl::string_view value;
  return MatchRefWorks(line, &tag, &value) && tag == "RT";
}
bool IsEndNoteStart(absl::string_view line) {
  absl::string_view tag;
  absl::string_view value;
  return MatchEndNote(line, &tag, &value) && tag == "%0";
}
bool IsNoteExpressStart(absl::string_view line) {
  absl::string_view tag;
  absl::string_view value;
  return MatchNoteExpress(line, &tag, &value) && tag == "Reference Type";
}

}  // namespace internal
}  // namespace thesis::formats
