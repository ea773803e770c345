// Format names, degree text, format detection and ParseFile.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "internal.h"
#include "server/domain/thesis_validation.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using thesis::v1::DegreeLevel;

// Lines starting with '{' that are tried as JSON before giving up on JSON
// Lines: keeps detection linear on hostile input.
constexpr int kMaxJsonProbes = 3;

bool IsJsonObject(absl::string_view line) {
  if (!internal::IsShallowJsonObject(line, internal::kMaxJsonDepth) || !internal::IsValidUtf8(line))
    return false;
  google::protobuf::Struct object;
  return google::protobuf::util::JsonStringToMessage(
             google::protobuf::StringPiece(line.data(), line.size()), &object)
      .ok();
}

}  // namespace

absl::string_view FormatName(Format format) {
  switch (format) {
    case Format::kCnkiPage:
      return "CNKI page";
    case Format::kRefWorks:
      return "RefWorks";
    case Format::kEndNote:
      return "EndNote";
    case Format::kNoteExpress:
      return "NoteExpress";
    case Format::kJsonLines:
      return "JSON Lines";
    case Format::kUnknown:
      break;
  }
  return "unknown";
}

DegreeLevel ParseDegreeLevel(absl::string_view text) {
  text = internal::Trim(text);
  if (text.empty()) return thesis::v1::DEGREE_LEVEL_UNSPECIFIED;
  if (absl::StrContains(text, "博士后")) return thesis::v1::DEGREE_LEVEL_POSTDOCTORAL;
  const bool professional = absl::StrContains(text, "专业") || absl::StrContains(text, "工程硕士");
  if (absl::StrContains(text, "博士")) {
    return professional ? thesis::v1::DEGREE_LEVEL_PROFESSIONAL_DOCTOR
                        : thesis::v1::DEGREE_LEVEL_DOCTOR;
  }
  if (absl::StrContains(text, "硕士")) {
    return professional ? thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER
                        : thesis::v1::DEGREE_LEVEL_MASTER;
  }
  if (absl::StrContains(text, "学士")) return thesis::v1::DEGREE_LEVEL_BACHELOR;
  const std::string lower = absl::AsciiStrToLower(text);
  if (absl::StrContains(lower, "postdoc")) return thesis::v1::DEGREE_LEVEL_POSTDOCTORAL;
  const bool prof_en = absl::StrContains(lower, "professional");
  if (absl::StrContains(lower, "doctor") || absl::StrContains(lower, "phd") ||
      absl::StrContains(lower, "ph.d")) {
    return prof_en ? thesis::v1::DEGREE_LEVEL_PROFESSIONAL_DOCTOR : thesis::v1::DEGREE_LEVEL_DOCTOR;
  }
  if (absl::StrContains(lower, "master")) {
    return prof_en ? thesis::v1::DEGREE_LEVEL_PROFESSIONAL_MASTER : thesis::v1::DEGREE_LEVEL_MASTER;
  }
  if (absl::StrContains(lower, "bachelor")) return thesis::v1::DEGREE_LEVEL_BACHELOR;
  return thesis::v1::DEGREE_LEVEL_OTHER;
}

absl::string_view DegreeText(DegreeLevel level) { return domain::DegreeLevelName(level); }

Format DetectFormat(absl::string_view utf8) {
  int json_probes = 0;
  internal::LineReader reader(utf8);
  internal::Line line;
  while (reader.Next(&line)) {
    const absl::string_view text = internal::Trim(line.text);
    if (text.empty()) continue;
    if (internal::IsRefWorksStart(line.text)) return Format::kRefWorks;
    if (internal::IsEndNoteStart(line.text)) return Format::kEndNote;
    if (internal::IsNoteExpressStart(line.text)) return Format::kNoteExpress;
    if (text.front() == '{' && json_probes < kMaxJsonProbes) {
      ++json_probes;
      if (IsJsonObject(text)) return Format::kJsonLines;
    }
    if (internal::IsCnkiPageField(line.text)) return Format::kCnkiPage;
  }
  return Format::kUnknown;
}

ParseResult ParseFile(absl::string_view bytes, absl::string_view file_name) {
  ParseResult result;
  absl::StatusOr<std::string> text = DecodeToUtf8(bytes);
  if (!text.ok()) {
    result.problems.push_back(internal::Malformed(
        file_name, 1, absl::StrCat("cannot decode: ", text.status().message())));
    return result;
  }
  switch (DetectFormat(*text)) {
    case Format::kCnkiPage:
      return ParseCnkiPage(*text, file_name);
    case Format::kRefWorks:
      return ParseRefWorks(*text, file_name);
    case Format::kEndNote:
      return ParseEndNote(*text, file_name);
    case Format::kNoteExpress:
      return ParseNoteExpress(*text, file_name);
    case Format::kJsonLines:
      return ParseJsonLines(*text, file_name);
    case Format::kUnknown:
      break;
  }
  if (!internal::Trim(*text).empty()) {
    result.problems.push_back(internal::Malformed(
        file_name, 1,
        "format not recognised (expected a CNKI page, RefWorks, EndNote, NoteExpress or JSON "
        "Lines)"));
  }
  return result;
}

}  // namespace thesis::formats
