// CNKI files through the whole path: reader -> ImportTheses -> PostgreSQL ->
// ExportTheses -> writer -> reader -> ImportTheses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/storage/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/in_process_server.h"
#include "tests/support/test_env.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis {
namespace {

using google::protobuf::util::MessageDifferencer;
using thesis::v1::Thesis;

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(testing::BackendKind::kPostgres, "thesis_test_import");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    ServerConfig config;
    config.workers = 4;
    auto server = testing::InProcessServer::Start(std::move(*backend), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::vector<Thesis> ExportAll() {
    std::vector<Thesis> out;
    absl::Status status = server_->client().ExportTheses({}, [&](const Thesis& t) {
      out.push_back(t);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }

  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_F(ImportTest, SeedRoundTripsThroughPageFormatImportExportAndImportAgain) {
  const std::string path = testing::SharedDataDir() + "/cnki/page-format-thesis.txt";
  std::optional<std::string> page = testing::ReadFile(path);
  if (!page) GTEST_SKIP() << path << " is absent (../shared/data not present): skipped";

  formats::ParseResult parsed = formats::ParseFile(*page, path);
  ASSERT_EQ(parsed.records.size(), 1u);
  auto first = server_->client().ImportTheses({parsed.records[0].thesis});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->created(), 1);

  std::vector<Thesis> exported = ExportAll();
  ASSERT_EQ(exported.size(), 1u);
  // Every field the page says, as the project's seed file has it.
  EXPECT_EQ(testing::ContentDiff(testing::SeedThesis(), exported[0]), "");

  const std::string jsonl = formats::WriteJsonLines(exported);
  formats::ParseResult reparsed = formats::ParseFile(jsonl, "export.jsonl");
  ASSERT_EQ(reparsed.records.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(reparsed.records[0].thesis, exported[0]));
  auto second = server_->client().ImportTheses({reparsed.records[0].thesis});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->unchanged(), 1);
  EXPECT_EQ(second->created() + second->updated() + second->failed(), 0);
  // And the page itself once more: still the same record, unchanged.
  auto third = server_->client().ImportTheses({parsed.records[0].thesis});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->unchanged(), 1);
  std::vector<Thesis> after = ExportAll();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(after[0], exported[0])) << "etag and times unchanged too";
}

TEST_F(ImportTest, ReimportingOneHundredThousandRecordsChangesNothing) {
  std::vector<Thesis> records;
  records.reserve(100000);
  for (int i = 0; i < 100000; ++i) {
    Thesis t;
    t.set_title_zh(absl::StrCat("生成的学位论文题名第", i, "篇"));
    t.add_authors(absl::StrCat("作者", i % 5000));
    t.add_advisors(absl::StrCat("导师", i % 700));
    t.set_institution(absl::StrCat("大学", i % 300));
    t.set_degree_level(i % 4 == 0 ? thesis::v1::DEGREE_LEVEL_DOCTOR
                                  : thesis::v1::DEGREE_LEVEL_MASTER);
    t.set_degree_year(1990 + i % 35);
    t.add_keywords_zh("关键词");
    t.add_classification_codes(i % 2 == 0 ? "TP311.13" : "D630");
    if (i % 3 == 0) {
      t.mutable_source()->set_database("CMFD");
      t.mutable_source()->set_record_id(absl::StrCat("gen", i));
    }
    records.push_back(std::move(t));
  }
  auto first = server_->client().ImportTheses(records);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->created(), 100000);
  auto second = server_->client().ImportTheses(records);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->unchanged(), 100000);
  EXPECT_EQ(second->created() + second->updated() + second->failed(), 0);
  EXPECT_EQ(ExportAll().size(), 100000u);
}

}  // namespace
}  // namespace thesis
