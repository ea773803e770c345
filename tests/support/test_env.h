// Where tests find their PostgreSQL and the shared reference data.
#ifndef THESIS_TESTS_SUPPORT_TEST_ENV_H_
#define THESIS_TESTS_SUPPORT_TEST_ENV_H_

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::testing {

// Admin URL of the throwaway PostgreSQL that scripts/test.sh starts; tests
// create their own databases on it. Empty when unset: such tests skip.
inline std::string TestDatabaseAdminUrl() {
  const char* url = std::getenv("THESIS_TEST_DATABASE_URL");
  return url == nullptr ? "" : url;
}

inline constexpr char kNoDatabaseMessage[] =
    "THESIS_TEST_DATABASE_URL is not set: PostgreSQL tests skipped (scripts/test.sh sets it)";

inline std::string SourceDir() { return THESIS_SOURCE_DIR; }
// ../shared/data next to the repository.
inline std::string SharedDataDir() { return SourceDir() + "/../shared/data"; }

inline std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The sample record the run command loads (deploy/seed/sample-thesis.json).
inline thesis::v1::Thesis SeedThesis() {
  thesis::v1::Thesis thesis;
  std::optional<std::string> json = ReadFile(SourceDir() + "/deploy/seed/sample-thesis.json");
  if (json) (void)google::protobuf::util::JsonStringToMessage(*json, &thesis);
  return thesis;
}

// "" when `expected` and `actual` hold the same record content (name,
// times and etag ignored); otherwise the differences.
inline std::string ContentDiff(thesis::v1::Thesis expected, thesis::v1::Thesis actual) {
  for (thesis::v1::Thesis* t : {&expected, &actual}) {
    t->clear_name();
    t->clear_create_time();
    t->clear_update_time();
    t->clear_etag();
  }
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  return differencer.Compare(expected, actual) ? "" : diff + " ";
}

}  // namespace thesis::testing

#endif  // THESIS_TESTS_SUPPORT_TEST_ENV_H_
