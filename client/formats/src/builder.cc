#include "builder.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats::internal {

void Builder::Title(absl::string_view value) {
  value = Trim(value);
  if (value.empty()) return;
  std::string* slot = HasHan(value) ? thesis_.mutable_title_zh() : thesis_.mutable_title_en();
  if (slot->empty()) *slot = std::string(value);
}

void Builder::Abstract(absl::string_view value) {
  value = Trim(value);
  if (value.empty()) return;
  std::string* slot = HasHan(value) ? thesis_.mutable_abstract_zh() : thesis_.mutable_abstract_en();
  if (slot->empty()) {
    *slot = std::string(value);
  } else {
    absl::StrAppend(slot, "\n", value);
  }
}

void Builder::Authors(absl::string_view value) {
  for (std::string& name : SplitPersons(value)) thesis_.add_authors(std::move(name));
}

void Builder::Advisors(absl::string_view value) {
  for (std::string& name : SplitPersons(value)) thesis_.add_advisors(std::move(name));
}

void Builder::Keywords(absl::string_view value) {
  auto* list = HasHan(value) ? thesis_.mutable_keywords_zh() : thesis_.mutable_keywords_en();
  for (std::string& keyword : SplitKeywords(value)) list->Add(std::move(keyword));
}

void Builder::Year(absl::string_view what, absl::string_view value, int line) {
  value = Trim(value);
  if (value.empty() || thesis_.degree_year() != 0) return;
  int year = 0;
  if (!ParseYear(value, &year)) {
    Fail(absl::StrCat(what, " \"", Quote(value), "\" is not a year (line ", line, ")"));
    return;
  }
  thesis_.set_degree_year(year);
}

void Builder::Degree(absl::string_view value) {
  value = Trim(value);
  if (value.empty() || degree_set_) return;
  degree_set_ = true;
  thesis_.set_degree_level(ParseDegreeLevel(value));
}

void Builder::Once(std::string* field, absl::string_view value) {
  value = Trim(value);
  if (!value.empty() && field->empty()) *field = std::string(value);
}

void Builder::Url(absl::string_view value) {
  value = Trim(value);
  if (value.empty() || !thesis_.source().url().empty()) return;
  thesis_.mutable_source()->set_url(absl::StrReplaceAll(value, {{"&amp;", "&"}}));
}

void Builder::Database(absl::string_view value) {
  value = Trim(value);
  if (value.empty() || !thesis_.source().database().empty()) return;
  thesis_.mutable_source()->set_database(std::string(value));
}

void Builder::RecordId(absl::string_view value) {
  value = Trim(value);
  if (value.empty() || !thesis_.source().record_id().empty()) return;
  thesis_.mutable_source()->set_record_id(std::string(value));
}

}  // namespace thesis::formats::internal
