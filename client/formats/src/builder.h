// Builds one Thesis from the fields of a record, whatever the format: the
// script rules (Han -> _zh), list splitting, first-value-wins for single
// fields, and the first unreadable value as the record's error.
#ifndef THESIS_CLIENT_FORMATS_SRC_BUILDER_H_
#define THESIS_CLIENT_FORMATS_SRC_BUILDER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::formats::internal {

class Builder {
 public:
  thesis::v1::Thesis& thesis() { return thesis_; }
  // The first error recorded, "" when none.
  const std::string& error() const { return error_; }
  void Fail(std::string reason) {
    if (error_.empty()) error_ = std::move(reason);
  }

  // Han -> title_zh, else title_en; the first title of each script wins.
  void Title(absl::string_view value);
  // Han -> abstract_zh, else abstract_en; a second one of the same script is
  // appended after a line break.
  void Abstract(absl::string_view value);
  void Authors(absl::string_view value);
  void Advisors(absl::string_view value);
  // The whole list goes to keywords_zh when it has Han characters.
  void Keywords(absl::string_view value);
  // `what` names the field in the error ("YR", "%D", ...).
  void Year(absl::string_view what, absl::string_view value, int line);
  void Degree(absl::string_view value);
  // Sets *field to the trimmed value unless it is already set.
  void Once(std::string* field, absl::string_view value);
  // Once() for source.url, with CNKI's HTML-escaped "&amp;" undone.
  void Url(absl::string_view value);
  // Once() for source.database and source.record_id. Like Url(), they leave
  // source unset when the value is empty.
  void Database(absl::string_view value);
  void RecordId(absl::string_view value);

 private:
  thesis::v1::Thesis thesis_;
  std::string error_;
  bool degree_set_ = false;
};

}  // namespace thesis::formats::internal

#endif  // THESIS_CLIENT_FORMATS_SRC_BUILDER_H_
