// libFuzzer target for one thesis_formats reader, chosen at compile time by
// THESIS_FUZZ_READER (ParseRefWorks, ...; ParseFile for the decode + detect
// + parse path). Besides not crashing, it checks two invariants: every
// record survives WriteJsonLines -> ParseJsonLines exactly, and
// WriteRefWorks -> ParseRefWorks gives back one record or one problem per
// record written.
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "thesis/formats/cnki_formats.h"

#ifndef THESIS_FUZZ_READER
#error "define THESIS_FUZZ_READER"
#endif

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace f = thesis::formats;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const f::ParseResult result = f::THESIS_FUZZ_READER(input, "fuzz");
  for (const f::Problem& p : result.problems) Check(p.line >= 1 && p.file == "fuzz");
  if (result.records.empty()) return 0;

  std::vector<thesis::v1::Thesis> theses;
  for (const f::Record& r : result.records) {
    Check(r.line >= 1);
    theses.push_back(r.thesis);
  }
  const f::ParseResult json = f::ParseJsonLines(f::WriteJsonLines(theses), "json");
  Check(json.problems.empty() && json.records.size() == theses.size());
  for (size_t i = 0; i < theses.size(); ++i) {
    Check(google::protobuf::util::MessageDifferencer::Equals(theses[i], json.records[i].thesis));
  }
  const f::ParseResult refworks = f::ParseRefWorks(f::WriteRefWorks(theses), "refworks");
  Check(refworks.records.size() + refworks.problems.size() == theses.size());
  for (const f::Problem& p : refworks.problems) Check(!p.skipped);
  return 0;
}
