// WriteRefWorks: the RefWorks tagged format as CNKI exports theses, so that
// ParseRefWorks reads it back.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

// "TG value\n", the value on one line (line breaks become spaces) and
// trimmed; nothing when the value is empty.
void Put(std::string* out, absl::string_view tag, absl::string_view value) {
  std::string v = internal::SanitizeUtf8(value);
  for (char& c : v) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const absl::string_view trimmed = internal::Trim(v);
  if (trimmed.empty()) return;
  absl::StrAppend(out, tag, " ", trimmed, "\n");
}

// Items joined with ';'. A single item with a comma gets a trailing ';' so
// that the reader does not split it on the comma.
void PutList(std::string* out, absl::string_view tag,
             const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string value = absl::StrJoin(items, ";");
  if (items.size() == 1 && (absl::StrContains(value, ',') || absl::StrContains(value, "\uFF0C"))) {
    value.push_back(';');
  }
  Put(out, tag, value);
}

}  // namespace

std::string WriteRefWorks(const std::vector<thesis::v1::Thesis>& theses) {
  std::string out;
  for (const thesis::v1::Thesis& t : theses) {
    if (!out.empty()) out.push_back('\n');
    out.append("RT Dissertation/Thesis\n");
    PutList(&out, "A1", t.authors());
    PutList(&out, "A3", t.advisors());
    const bool has_zh = !internal::Trim(t.title_zh()).empty();
    Put(&out, "T1", has_zh ? t.title_zh() : t.title_en());
    if (has_zh) Put(&out, "OT", t.title_en());
    Put(&out, "PB", t.institution());
    Put(&out, "CL", DegreeText(t.degree_level()));
    if (t.degree_year() != 0) Put(&out, "YR", absl::StrCat(t.degree_year()));
    PutList(&out, "K1", t.keywords_zh());
    PutList(&out, "K1", t.keywords_en());
    Put(&out, "AB", t.abstract_zh());
    Put(&out, "AB", t.abstract_en());
    Put(&out, "LK", t.source().url());
    Put(&out, "DS", t.source().database());
    Put(&out, "AN", t.source().record_id());
  }
  return out;
}

}  // namespace thesis::formats
