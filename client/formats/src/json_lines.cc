// JSON Lines: one Thesis per line in the Protobuf JSON mapping, read and
// written with protobuf's json_util.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The range google.protobuf.Timestamp allows in JSON (0001-01-01 to
// 9999-12-31).
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// Makes `msg` printable as JSON: strings that are not UTF-8 get U+FFFD, and
// Timestamps outside the JSON range are cleared. Returns true when it changed
// anything.
bool MakePrintable(Message* msg) {
  const Reflection* refl = msg->GetReflection();
  const auto* desc = msg->GetDescriptor();
  if (desc->full_name() == "google.protobuf.Timestamp") {
    const int64_t seconds = refl->GetInt64(*msg, desc->FindFieldByNumber(1));
    const int32_t nanos = refl->GetInt32(*msg, desc->FindFieldByNumber(2));
    if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
        nanos > 999999999) {
      msg->Clear();
      return true;
    }
    return false;
  }
  bool changed = false;
  std::vector<const FieldDescriptor*> fields;
  refl->ListFields(*msg, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(*msg, field); ++i) {
          const std::string value = refl->GetRepeatedString(*msg, field, i);
          if (!internal::IsValidUtf8(value)) {
            refl->SetRepeatedString(msg, field, i, internal::SanitizeUtf8(value));
            changed = true;
          }
        }
      } else {
        const std::string value = refl->GetString(*msg, field);
        if (!internal::IsValidUtf8(value)) {
          refl->SetString(msg, field, internal::SanitizeUtf8(value));
          changed = true;
        }
      }
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < refl->FieldSize(*msg, field); ++i) {
          changed = MakePrintable(refl->MutableRepeatedMessage(msg, field, i)) || changed;
        }
      } else {
        changed = MakePrintable(refl->MutableMessage(msg, field)) || changed;
      }
    }
  }
  return changed;
}

}  // namespace

ParseResult ParseJsonLines(absl::string_view utf8, absl::string_view file_name) {
  ParseResult result;
  result.format = Format::kJsonLines;
  internal::ProblemList problems(&result, file_name);
  internal::LineReader reader(utf8);
  internal::Line line;
  while (reader.Next(&line)) {
    const absl::string_view text = internal::Trim(line.text);
    if (text.empty()) continue;
    if (!internal::IsValidUtf8(text)) {
      problems.Malformed(line.number, "not UTF-8");
      continue;
    }
    if (!internal::IsShallowJsonObject(text, internal::kMaxJsonDepth)) {
      problems.Malformed(line.number, absl::StrCat("not a JSON object (or nested more than ",
                                                   internal::kMaxJsonDepth, " deep)"));
      continue;
    }
    Record record;
    record.line = line.number;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(text.data(), text.size()), &record.thesis);
    if (!status.ok()) {
      const auto message = status.message();
      problems.Malformed(
          line.number,
          absl::StrCat("not a Thesis in the Protobuf JSON mapping: ",
                       internal::Quote(absl::string_view(message.data(), message.size()), 200)));
      continue;
    }
    std::string reason = internal::CheckThesis(record.thesis);
    if (!reason.empty()) {
      problems.Malformed(line.number, std::move(reason));
      continue;
    }
    result.records.push_back(std::move(record));
  }
  problems.Finish();
  return result;
}

std::string WriteJsonLines(const std::vector<thesis::v1::Thesis>& theses) {
  std::string out;
  for (const thesis::v1::Thesis& thesis : theses) {
    const thesis::v1::Thesis* source = &thesis;
    thesis::v1::Thesis copy = thesis;
    if (MakePrintable(&copy)) source = &copy;
    std::string line;
    if (!google::protobuf::util::MessageToJsonString(*source, &line).ok()) {
      // Not expected once printable; keep one line per record regardless.
      line = "{}";
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace thesis::formats
