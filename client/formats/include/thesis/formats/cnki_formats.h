// Readers and writers for the bibliographic files people download from CNKI,
// and for the service's own JSON Lines, so that the client can import and
// export thesis::v1::Thesis records without the server.
//
// Self-contained: no gRPC calls and no server library. The record checks
// mirror the service's validation (same limits), so a record the service
// would reject is reported here, with its file and line, instead of failing
// later on CreateThesis.
//
// Input handling. ParseFile() takes the raw bytes of a file: DecodeToUtf8()
// accepts UTF-8 (with or without BOM), UTF-16 with a BOM, and otherwise
// GB18030 (a superset of GBK/GB2312, which CNKI often delivers), and turns
// CRLF and lone CR into LF. DetectFormat() then looks at the content, not at
// the file name. The per-format entry points (ParseRefWorks, ...) take text
// that is already UTF-8; they are the fuzz targets, so they never crash or
// hang on any input, including invalid UTF-8 (such a record is malformed).
//
// Records. A record of another type (journal article, patent, ...) is
// reported as a skipped Problem naming its type; a malformed record is a
// Problem with skipped == false; both name the record's first line, and the
// other records still parse. "Malformed" means, in every format:
//   * lines that do not belong to a record: in the tagged formats, text after
//     a blank line that does not start with the record-type tag (RT, %0,
//     {Reference Type}); the whole block up to the next blank line or
//     record-type line is one problem;
//   * a thesis record without a title, or without an author;
//   * a value that cannot be read: a year that does not start with four
//     digits, 下载频次 that is not a number, 网络出版年期 without `年`/`期`,
//     an empty record type;
//   * a record the service would reject: text that is not UTF-8 or holds NUL,
//     a field above the service's size or count limits (title 2 KiB, names
//     256 B, abstract 128 KiB, 50 authors, 20 advisors, 100 keywords, ...),
//     a year outside 1900-2100, a classification code that is not CLC
//     notation, a URL that is not http(s).
// In JSON Lines a malformed record is a line that is not one Thesis in the
// Protobuf JSON mapping (or is nested more than 8 deep, which protobuf's
// parser would take minutes over), or a Thesis that fails the checks above.
//
// Limits that keep hostile input cheap: inputs above kMaxInputBytes are
// refused; a record with more than 10,000 fields (or title lines) is
// malformed; at most 10,000 problems are listed per file, then one problem
// says how many more there were. Memory is linear in the input.
//
// Mapping (all formats). Lists (authors, advisors, keywords, class codes)
// are split on ';' and '；'; when a value has no semicolon, keywords are also
// split on ',' and '，', and persons are split on commas only when the value
// contains Chinese characters (so "Smith, John" stays one name). Items are
// trimmed and empty items dropped (CNKI leaves a trailing ';' and doubles
// it in NoteExpress). A title, abstract or keyword list with Chinese (Han)
// characters goes to the _zh field, otherwise to the _en field (in the page
// format the field name decides instead: 【摘要】 -> abstract_zh, ...).
// language is "zh" when any title or abstract has Han characters, otherwise
// "en". Degree text: see ParseDegreeLevel(). Years: the first four digits
// ("2014", "2023-09-07", "2011年"). URLs: CNKI's HTML-escaped "&amp;" is
// undone.
//
// Continuation lines (a line without a tag) belong to the previous field. In
// the tagged formats they are joined without any separator: CNKI's breaks
// there are export artefacts in the middle of sentences. In the page format
// they are joined with "\n" (paragraphs of a copied page).
//
// Per format:
//   CNKI page: the non-empty lines before 【作者】 are the titles; 【作者】
//     authors, 【导师】 advisors, 【作者基本信息】 "institution, discipline,
//     year, degree", 【摘要】/【Abstract】, 【关键词】/【Key words】,
//     【网络出版投稿人】 online_publication.contributor, 【网络出版年期】
//     "2011年 S1期" -> year 2011, issue "S1", 【分类号】, 【下载频次】
//     legacy_download_count. A file may hold several records: plain lines
//     followed by 【作者】 (or by a field the current record already has)
//     start the next record; other plain lines continue the previous field.
//     Unknown 【...】 fields are ignored.
//   RefWorks: RT type (Dissertation/Thesis), A1 authors, A3 advisors, T1
//     title, OT the other-language title, PB institution, CL degree (not a
//     class code), YR degree_year, K1 keywords, AB abstract, LK/UL/URL url,
//     DB (else DS) source.database, AN source.record_id. The tag may be
//     followed directly by the value (CNKI writes "A1林行众"); only the
//     RefWorks tag list (plus CNKI's "vo" and "URL") counts as a tag.
//   EndNote/Refer: %0 type (Thesis), %A authors, %T title, %Y advisors, %J
//     (else %I) institution, %9 degree, %D year, %K keywords, %X abstract,
//     %U url, %W source.database, %M source.record_id.
//   NoteExpress: {Reference Type} (Thesis), {Title}, {Translated Title},
//     {Author}, {Tertiary Author} advisors, {Publisher} institution,
//     {Type of Work} degree, {Year} (else {Date}), {Keywords}, {Abstract}
//     ("(#br)" is a line break), {URL}, {Database Provider}
//     source.database. The older CNKI variant has {DOI}:
//     CNKI:CDMD:2.1012.xxxx -> source.database "CDMD", source.record_id
//     "2.1012.xxxx", and the university in {Journal} (preferred over
//     {Publisher} in that variant only).
//   JSON Lines: one Thesis per line in the Protobuf JSON mapping, lossless
//     (output-only fields included); blank lines skipped.
//
// Everything here is thread-safe: no shared mutable state.
#ifndef THESIS_FORMATS_CNKI_FORMATS_H_
#define THESIS_FORMATS_CNKI_FORMATS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::formats {

enum class Format { kUnknown, kCnkiPage, kRefWorks, kEndNote, kNoteExpress, kJsonLines };

// "unknown", "CNKI page", "RefWorks", "EndNote", "NoteExpress", "JSON Lines".
absl::string_view FormatName(Format format);

// Larger inputs are refused by DecodeToUtf8 (and so by ParseFile).
inline constexpr size_t kMaxInputBytes = size_t{64} << 20;

// Raw file bytes -> UTF-8 with LF line ends. Strips a UTF-8 BOM; keeps valid
// UTF-8 as is; converts UTF-16 with a BOM; otherwise converts from GB18030.
// INVALID_ARGUMENT when the bytes are none of these (or above
// kMaxInputBytes). Traditional and simplified characters are kept as written.
absl::StatusOr<std::string> DecodeToUtf8(absl::string_view bytes);

// The format of decoded text, from its content: the first line that decides
// wins (an `RT` line -> RefWorks, `%0` -> EndNote, `{Reference Type}:` ->
// NoteExpress, a line that is a JSON object -> JSON Lines, a CNKI page field
// such as 【作者】 -> CNKI page). kUnknown when no line decides.
Format DetectFormat(absl::string_view utf8);

struct Problem {
  std::string file;
  // 1-based; the first line of the record (1 when the file is unreadable).
  int line = 0;
  std::string reason;
  // true: a record of another type (journal article, patent, ...) that was
  // skipped; the reason names the type. false: a malformed record.
  bool skipped = false;
};

struct Record {
  thesis::v1::Thesis thesis;
  // First line of the record in the file, 1-based.
  int line = 0;
};

struct ParseResult {
  Format format = Format::kUnknown;
  std::vector<Record> records;
  std::vector<Problem> problems;
};

// Decodes, detects and parses every record of a file. A decode failure or an
// unrecognised non-empty file is one problem at line 1. An empty file gives
// no records and no problems.
ParseResult ParseFile(absl::string_view bytes, absl::string_view file_name);

// One reader per format, on text that is already UTF-8 (see DecodeToUtf8).
// A leading BOM and CR before LF are tolerated.
ParseResult ParseCnkiPage(absl::string_view utf8, absl::string_view file_name);
ParseResult ParseRefWorks(absl::string_view utf8, absl::string_view file_name);
ParseResult ParseEndNote(absl::string_view utf8, absl::string_view file_name);
ParseResult ParseNoteExpress(absl::string_view utf8, absl::string_view file_name);
ParseResult ParseJsonLines(absl::string_view utf8, absl::string_view file_name);

// Degree text as CNKI writes it: 博士后 -> POSTDOCTORAL; 专业/专业学位 with
// 博士 -> PROFESSIONAL_DOCTOR, with 硕士 (or 工程硕士) -> PROFESSIONAL_MASTER;
// otherwise 博士 -> DOCTOR, 硕士 -> MASTER, 学士 -> BACHELOR; the English
// words (doctor/PhD, master, bachelor, postdoctoral) likewise; empty ->
// UNSPECIFIED; anything else -> OTHER.
thesis::v1::DegreeLevel ParseDegreeLevel(absl::string_view text);
// The text WriteRefWorks uses: 硕士, 博士, 学士, 专业硕士, 专业博士, 博士后,
// 其他; "" for UNSPECIFIED. ParseDegreeLevel(DegreeText(x)) == x.
absl::string_view DegreeText(thesis::v1::DegreeLevel level);

// One Thesis per line in the Protobuf JSON mapping (lowerCamel names, as in
// deploy/seed), each line ending in '\n'. Lossless, including name, etag and
// times. Strings must be UTF-8; invalid sequences are written as U+FFFD.
std::string WriteJsonLines(const std::vector<thesis::v1::Thesis>& theses);

// RefWorks tagged format as CNKI exports it (RT Dissertation/Thesis), records
// separated by a blank line, read back by ParseRefWorks to the same titles,
// authors, advisors, institution, degree level, degree year, keywords,
// abstracts, source (database, record_id, url) and language. RefWorks has no
// place for the discipline, online publication, class codes or download
// count, so those are not written. Line breaks inside a value become spaces,
// and list items must not contain ';'.
std::string WriteRefWorks(const std::vector<thesis::v1::Thesis>& theses);

}  // namespace thesis::formats

#endif  // THESIS_FORMATS_CNKI_FORMATS_H_
