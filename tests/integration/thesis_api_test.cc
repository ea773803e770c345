// ThesisService end to end: the real server (in this process) on each
// storage backend, called through the client library over gRPC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/api/thesis_bulk.h"
#include "server/storage/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/in_process_server.h"
#include "tests/support/test_env.h"

namespace thesis {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::BackendKind;
using ::testing::Contains;
using ::testing::ElementsAre;
using thesis::v1::Thesis;

Thesis ValidThesis(const std::string& title = "甘肃省电子政务建设研究") {
  Thesis t;
  t.set_title_zh(title);
  t.add_authors("郑忠锋");
  t.set_institution("兰州大学");
  t.set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  t.set_degree_year(2009);
  return t;
}

class ThesisApiTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_api");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    ServerConfig config;
    config.workers = 8;
    config.required_schema_version = storage::RequiredSchemaVersion();
    auto server = testing::InProcessServer::Start(std::move(*backend), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  client::ThesisClient& client() { return server_->client(); }

  // Every record, following page tokens.
  std::vector<Thesis> ListAll(thesis::v1::ListThesesRequest request) {
    std::vector<Thesis> out;
    do {
      auto page = client().ListTheses(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      out.insert(out.end(), page->theses().begin(), page->theses().end());
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return out;
  }

  size_t CountRecords() { return ListAll({}).size(); }

  std::unique_ptr<testing::InProcessServer> server_;
};

// ---- The seed record --------------------------------------------------------

TEST_P(ThesisApiTest, SeedRecordCreatedThroughTheApiReadsBackWithEveryFieldIdentical) {
  const Thesis seed = testing::SeedThesis();
  ASSERT_FALSE(seed.abstract_en().empty()) << "deploy/seed/sample-thesis.json not read";
  absl::StatusOr<Thesis> created = client().CreateThesis(seed, "seed-2009-zheng");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), "theses/seed-2009-zheng");

  absl::StatusOr<Thesis> got = client().GetThesis("theses/seed-2009-zheng");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(MessageDifferencer::Equals(*created, *got));
  EXPECT_EQ(testing::ContentDiff(seed, *got), "");
  // Spot checks of what the CNKI page says.
  EXPECT_THAT(got->advisors(), ElementsAre("江正平"));
  EXPECT_EQ(got->online_publication().issue(), "S1");
  EXPECT_EQ(got->online_publication().year(), 2011);
  EXPECT_EQ(got->legacy_download_count(), 188);
  EXPECT_THAT(got->classification_codes(), ElementsAre("D630"));
}

TEST_P(ThesisApiTest, ServerAssignsIdsWhenTheClientGivesNone) {
  absl::StatusOr<Thesis> a = client().CreateThesis(ValidThesis());
  absl::StatusOr<Thesis> b = client().CreateThesis(ValidThesis());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->name(), b->name());
  EXPECT_TRUE(client().GetThesis(a->name()).ok());
}

// ---- Bad input: INVALID_ARGUMENT naming the field, nothing written ----------

struct BadCreate {
  std::string label;
  std::function<void(thesis::v1::CreateThesisRequest&)> spoil;
  std::string field;
};

TEST_P(ThesisApiTest, EachBadCreateIsInvalidArgumentNamingTheFieldAndWritesNothing) {
  const std::vector<BadCreate> cases = {
      {"no thesis", [](auto& r) { r.clear_thesis(); }, "thesis"},
      {"no title",
       [](auto& r) {
         r.mutable_thesis()->clear_title_zh();
         r.mutable_thesis()->set_title_en("  ");
       },
       "thesis.title_zh"},
      {"title too long", [](auto& r) { r.mutable_thesis()->set_title_zh(std::string(3000, 'x')); },
       "thesis.title_zh"},
      {"no author", [](auto& r) { r.mutable_thesis()->clear_authors(); }, "thesis.authors"},
      {"empty advisor", [](auto& r) { r.mutable_thesis()->add_advisors(""); },
       "thesis.advisors[0]"},
      {"year too early", [](auto& r) { r.mutable_thesis()->set_degree_year(1850); },
       "thesis.degree_year"},
      {"year too late", [](auto& r) { r.mutable_thesis()->set_degree_year(3000); },
       "thesis.degree_year"},
      {"online year",
       [](auto& r) { r.mutable_thesis()->mutable_online_publication()->set_year(20111); },
       "thesis.online_publication.year"},
      {"unknown degree level",
       [](auto& r) {
         r.mutable_thesis()->set_degree_level(static_cast<thesis::v1::DegreeLevel>(42));
       },
       "thesis.degree_level"},
      {"bad classification code",
       [](auto& r) {
         r.mutable_thesis()->add_classification_codes("D630");
         r.mutable_thesis()->add_classification_codes("tp 311");
       },
       "thesis.classification_codes[1]"},
      {"bad url", [](auto& r) { r.mutable_thesis()->mutable_source()->set_url("ftp://x"); },
       "thesis.source.url"},
      {"bad language", [](auto& r) { r.mutable_thesis()->set_language("chinese!"); },
       "thesis.language"},
      {"negative download count",
       [](auto& r) { r.mutable_thesis()->set_legacy_download_count(-1); },
       "thesis.legacy_download_count"},
      {"NUL in text", [](auto& r) { r.mutable_thesis()->set_institution(std::string("a\0b", 3)); },
       "thesis.institution"},
      {"bad thesis_id", [](auto& r) { r.set_thesis_id("Not_Valid"); }, "thesis_id"},
      {"long thesis_id", [](auto& r) { r.set_thesis_id(std::string(64, 'a')); }, "thesis_id"},
      {"bad request_id", [](auto& r) { r.set_request_id("has space"); }, "request_id"},
  };
  for (const BadCreate& c : cases) {
    thesis::v1::CreateThesisRequest request;
    *request.mutable_thesis() = ValidThesis();
    c.spoil(request);
    absl::StatusOr<Thesis> result = client().CreateThesis(request);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
    EXPECT_THAT(client::ViolatedFields(result.status()), Contains(c.field)) << c.label;
    EXPECT_THAT(std::string(result.status().message()), ::testing::HasSubstr(c.field)) << c.label;
    EXPECT_EQ(client::ErrorReason(result.status()), "INVALID_FIELD") << c.label;
  }
  EXPECT_EQ(CountRecords(), 0u);
}

TEST_P(ThesisApiTest, BadReadsAndListsNameTheField) {
  auto expect_field = [](const absl::Status& status, const std::string& field) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(client::ViolatedFields(status), Contains(field));
  };
  expect_field(client().GetThesis("theses/").status(), "name");
  expect_field(client().GetThesis("books/1").status(), "name");
  expect_field(client().BatchGetTheses({"theses/a", "nope"}).status(), "names[1]");
  expect_field(client().BatchGetTheses(std::vector<std::string>(1001, "theses/a")).status(),
               "names");
  expect_field(client().DeleteThesis("theses/UPPER"), "name");

  thesis::v1::ListThesesRequest list;
  list.set_page_size(-1);
  expect_field(client().ListTheses(list).status(), "page_size");
  list.Clear();
  list.set_filter("title = \"x\"");
  expect_field(client().ListTheses(list).status(), "filter");
  list.set_filter("degree_year >= 2000 OR degree_year < 1990");
  expect_field(client().ListTheses(list).status(), "filter");
  list.Clear();
  list.set_order_by("author");
  expect_field(client().ListTheses(list).status(), "order_by");
  list.Clear();
  list.set_page_token("not-a-token");
  expect_field(client().ListTheses(list).status(), "page_token");
}

TEST_P(ThesisApiTest, BadUpdatesAreRejectedAndChangeNothing) {
  absl::StatusOr<Thesis> created = client().CreateThesis(ValidThesis(), "u1");
  ASSERT_TRUE(created.ok());
  auto update = [&](const Thesis& t, std::vector<std::string> paths) {
    google::protobuf::FieldMask mask;
    for (const std::string& p : paths) mask.add_paths(p);
    return client().UpdateThesis(t, mask).status();
  };
  Thesis patch = *created;
  patch.set_degree_year(1492);
  absl::Status status = update(patch, {"degree_year"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::ViolatedFields(status), Contains("thesis.degree_year"));
  status = update(patch, {});
  EXPECT_THAT(client::ViolatedFields(status), Contains("update_mask"));
  status = update(patch, {"etag"});
  EXPECT_THAT(client::ViolatedFields(status), Contains("update_mask.paths[0]"));
  status = update(patch, {"title_zh", "no_such_field"});
  EXPECT_THAT(client::ViolatedFields(status), Contains("update_mask.paths[1]"));
  patch.set_name("theses/");
  status = update(patch, {"title_zh"});
  EXPECT_THAT(client::ViolatedFields(status), Contains("thesis.name"));

  absl::StatusOr<Thesis> got = client().GetThesis("theses/u1");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*created, *got));
}

// ---- Update, delete, etags, request ids -------------------------------------

TEST_P(ThesisApiTest, UpdateChangesOnlyMaskedFieldsAndStaleEtagIsAborted) {
  Thesis original = ValidThesis();
  original.add_keywords_zh("电子政务");
  absl::StatusOr<Thesis> created = client().CreateThesis(original, "u2");
  ASSERT_TRUE(created.ok());
  Thesis patch;
  patch.set_name("theses/u2");
  patch.set_title_zh("新题名");
  patch.set_degree_year(1999);  // not in the mask: ignored
  google::protobuf::FieldMask mask;
  mask.add_paths("title_zh");
  absl::StatusOr<Thesis> updated = client().UpdateThesis(patch, mask, created->etag());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->title_zh(), "新题名");
  EXPECT_EQ(updated->degree_year(), 2009);
  EXPECT_THAT(updated->keywords_zh(), ElementsAre("电子政务"));
  EXPECT_NE(updated->etag(), created->etag());

  absl::StatusOr<Thesis> stale = client().UpdateThesis(patch, mask, created->etag());
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(client::ErrorReason(stale.status()), "ETAG_MISMATCH");
  EXPECT_EQ(client().DeleteThesis("theses/u2", created->etag()).code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(client().DeleteThesis("theses/u2", updated->etag()).ok());
  EXPECT_EQ(client().GetThesis("theses/u2").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ThesisApiTest, RetryWithSameRequestIdReturnsFirstAnswerAndDifferentBodyIsAnError) {
  thesis::v1::CreateThesisRequest request;
  *request.mutable_thesis() = ValidThesis();
  request.set_request_id("create-once-1");
  absl::StatusOr<Thesis> first = client().CreateThesis(request);
  absl::StatusOr<Thesis> retry = client().CreateThesis(request);
  ASSERT_TRUE(first.ok() && retry.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*first, *retry));
  EXPECT_EQ(CountRecords(), 1u);

  request.mutable_thesis()->set_title_zh("另一篇");
  absl::StatusOr<Thesis> reused = client().CreateThesis(request);
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::ViolatedFields(reused.status()), Contains("request_id"));
  EXPECT_EQ(CountRecords(), 1u);
}

TEST_P(ThesisApiTest, BatchGetIsAllOrNothingInRequestOrder) {
  for (const char* id : {"b1", "b2", "b3"})
    ASSERT_TRUE(client().CreateThesis(ValidThesis(), id).ok());
  auto got = client().BatchGetTheses({"theses/b3", "theses/b1", "theses/b2"});
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::string> names;
  for (const Thesis& t : *got) names.push_back(t.name());
  EXPECT_THAT(names, ElementsAre("theses/b3", "theses/b1", "theses/b2"));
  EXPECT_EQ(client().BatchGetTheses({"theses/b1", "theses/b9"}).status().code(),
            absl::StatusCode::kNotFound);
}

// ---- Listing ----------------------------------------------------------------

TEST_P(ThesisApiTest, PageSizeDefaultsTo50AndTokensAreTiedToTheirQuery) {
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = w; i < 60; i += 4) {
        Thesis t = ValidThesis(absl::StrCat("题", i));
        t.set_degree_year(2000 + i % 10);
        EXPECT_TRUE(client().CreateThesis(t).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  thesis::v1::ListThesesRequest request;
  auto page = client().ListTheses(request);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->theses_size(), 50);
  ASSERT_FALSE(page->next_page_token().empty());
  // The token does not show what it encodes.
  EXPECT_EQ(page->next_page_token().find(page->theses(49).name().substr(7)), std::string::npos);

  thesis::v1::ListThesesRequest other;
  other.set_filter("degree_year >= 2005");
  other.set_page_token(page->next_page_token());
  auto mismatch = client().ListTheses(other);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client::ErrorReason(mismatch.status()), "INVALID_PAGE_TOKEN");

  std::string forged = page->next_page_token();
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  request.set_page_token(forged);
  EXPECT_EQ(client().ListTheses(request).status().code(), absl::StatusCode::kInvalidArgument);

  request.set_page_token(page->next_page_token());
  request.set_page_size(5000);  // capped at 1000: everything left fits
  auto rest = client().ListTheses(request);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->theses_size(), 10);
  EXPECT_TRUE(rest->next_page_token().empty());
}

TEST_P(ThesisApiTest, FilterAndOrderThroughTheApi) {
  for (int i = 0; i < 12; ++i) {
    Thesis t = ValidThesis(absl::StrCat("题", i));
    t.set_degree_year(2000 + i);
    if (i % 3 == 0) t.set_degree_level(thesis::v1::DEGREE_LEVEL_DOCTOR);
    if (i % 2 == 0) t.add_classification_codes("TP311.13");
    ASSERT_TRUE(client().CreateThesis(t).ok());
  }
  thesis::v1::ListThesesRequest request;
  request.set_filter(
      "degree_level = DOCTOR AND classification_code = \"TP3*\" AND degree_year >= 2003");
  request.set_order_by("degree_year desc");
  request.set_page_size(1);
  std::vector<int> years;
  for (const Thesis& t : ListAll(request)) years.push_back(t.degree_year());
  EXPECT_THAT(years, ElementsAre(2006));  // i = 6 only (0 is before 2003; 3, 9 odd)
}

// 1,000 records listed in pages of 37 while 200 more are inserted: none of
// the first 1,000 is skipped or repeated, in each order.
TEST_P(ThesisApiTest, PaginationNeitherSkipsNorRepeatsUnderConcurrentInserts) {
  std::set<std::string> original;
  std::mutex mu;
  std::vector<std::thread> loaders;
  for (int w = 0; w < 8; ++w) {
    loaders.emplace_back([&, w] {
      for (int i = w; i < 1000; i += 8) {
        // Titles and years spread the new records among the old ones.
        Thesis t = ValidThesis(absl::StrCat("题", (i * 7919) % 1000));
        t.set_degree_year(1990 + i % 30);
        absl::StatusOr<Thesis> created = client().CreateThesis(t);
        ASSERT_TRUE(created.ok()) << created.status();
        std::lock_guard<std::mutex> lock(mu);
        original.insert(created->name());
      }
    });
  }
  for (auto& t : loaders) t.join();
  ASSERT_EQ(original.size(), 1000u);

  int round = 0;
  for (const char* order : {"create_time", "title", "degree_year desc"}) {
    std::atomic<bool> done{false};
    std::thread inserter([&, round] {
      for (int i = 0; i < 200; ++i) {
        Thesis t = ValidThesis(absl::StrCat("题", (i * 31) % 1000, "新", round));
        t.set_degree_year(1990 + i % 30);
        EXPECT_TRUE(client().CreateThesis(t).ok());
      }
      done = true;
    });
    thesis::v1::ListThesesRequest request;
    request.set_page_size(37);
    request.set_order_by(order);
    std::map<std::string, int> seen;
    int pages = 0;
    do {
      auto page = client().ListTheses(request);
      ASSERT_TRUE(page.ok()) << page.status();
      EXPECT_LE(page->theses_size(), 37);
      for (const Thesis& t : page->theses()) ++seen[t.name()];
      request.set_page_token(page->next_page_token());
      ++pages;
    } while (!request.page_token().empty());
    inserter.join();
    for (const std::string& name : original) {
      EXPECT_EQ(seen[name], 1) << order << ": " << name << " seen " << seen[name] << " times";
    }
    for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << order << ": " << name;
    EXPECT_GE(pages, 1000 / 37) << order;
    ++round;
  }
}

// ---- Import and export --------------------------------------------------------

TEST_P(ThesisApiTest, ImportCountsAndNamesFailuresByIndexAndIsIdempotent) {
  std::vector<Thesis> records;
  for (int i = 0; i < 1200; ++i) {
    Thesis t = ValidThesis(absl::StrCat("导入题名", i));
    t.set_degree_year(1990 + i % 30);
    records.push_back(t);
  }
  records[3].set_degree_year(1066);
  records[1100].clear_authors();
  records[7] = records[6];  // the same record twice in one stream
  auto first = client().ImportTheses(records, nullptr, 100);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->created(), 1197);
  EXPECT_EQ(first->unchanged(), 1);  // the repeat of record 6
  EXPECT_EQ(first->updated(), 0);
  EXPECT_EQ(first->failed(), 2);
  ASSERT_EQ(first->failures_size(), 2);
  EXPECT_EQ(first->failures(0).index(), 3);
  EXPECT_EQ(first->failures(0).field(), "degree_year");
  EXPECT_EQ(first->failures(1).index(), 1100);
  EXPECT_EQ(first->failures(1).field(), "authors");
  EXPECT_EQ(CountRecords(), 1197u);

  auto again = client().ImportTheses(records);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->created(), 0);
  EXPECT_EQ(again->updated(), 0);
  EXPECT_EQ(again->unchanged(), 1198);
  EXPECT_EQ(again->failed(), 2);
  EXPECT_EQ(CountRecords(), 1197u);
}

// Batches are written in parallel, but a record's later version in the
// stream is never written before its earlier one: three versions of the
// same 50 records, one in each batch, leave the last version stored.
TEST_P(ThesisApiTest, ImportWritesEachRecordsVersionsInStreamOrder) {
  constexpr int kRecords = 50;
  constexpr int kVersions = 3;
  std::vector<Thesis> stream;
  for (int v = 0; v < kVersions; ++v) {
    for (int i = 0; i < kRecords; ++i) {
      Thesis t = ValidThesis(absl::StrCat("版本题名", i));
      t.set_title_en(absl::StrCat("version ", v));
      stream.push_back(t);
    }
    // Fillers: each version in a batch of its own (api::kImportBatchSize).
    for (size_t i = kRecords; i < api::kImportBatchSize; ++i) {
      stream.push_back(ValidThesis(absl::StrCat("填充", v, "-", i)));
    }
  }
  auto result = client().ImportTheses(stream);
  ASSERT_TRUE(result.ok()) << result.status();
  const int fillers = kVersions * static_cast<int>(api::kImportBatchSize - kRecords);
  EXPECT_EQ(result->created(), kRecords + fillers);
  EXPECT_EQ(result->updated(), kRecords * (kVersions - 1));
  EXPECT_EQ(result->failed(), 0);
  thesis::v1::ListThesesRequest request;
  request.set_page_size(1000);
  int seen = 0;
  for (const Thesis& t : ListAll(request)) {
    if (t.title_zh().rfind("版本题名", 0) != 0) continue;
    ++seen;
    EXPECT_EQ(t.title_en(), absl::StrCat("version ", kVersions - 1)) << t.title_zh();
  }
  EXPECT_EQ(seen, kRecords);
}

TEST_P(ThesisApiTest, ExportStreamsEveryMatchOnceAndReimportsUnchanged) {
  std::vector<Thesis> records;
  for (int i = 0; i < 1100; ++i) {
    Thesis t = ValidThesis(absl::StrCat("导出", i));
    t.set_degree_year(i % 2 == 0 ? 2001 : 2002);
    records.push_back(t);
  }
  ASSERT_TRUE(client().ImportTheses(records).ok());
  thesis::v1::ExportThesesRequest request;
  request.set_filter("degree_year = 2001");
  std::vector<Thesis> exported;
  absl::Status status = client().ExportTheses(request, [&](const Thesis& t) {
    exported.push_back(t);
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(exported.size(), 550u);
  std::set<std::string> names;
  for (const Thesis& t : exported) {
    names.insert(t.name());
    EXPECT_EQ(t.degree_year(), 2001);
  }
  EXPECT_EQ(names.size(), 550u);

  // What was exported (names, etags and all) imports back as unchanged.
  auto reimport = client().ImportTheses(exported);
  ASSERT_TRUE(reimport.ok()) << reimport.status();
  EXPECT_EQ(reimport->unchanged(), 550);
  EXPECT_EQ(reimport->created() + reimport->updated() + reimport->failed(), 0);

  request.set_filter("degree_year >");
  EXPECT_EQ(client().ExportTheses(request, [](const Thesis&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kInvalidArgument);
  // A sink error stops the export and is returned.
  request.clear_filter();
  int seen = 0;
  absl::Status stopped = client().ExportTheses(request, [&](const Thesis&) {
    return ++seen == 10 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(seen, 10);
}

// CNKI records with both abstracts are often 5-10 KB; 1,000 of them are
// more than a client accepts in one message by default (4 MiB). Lists end
// their pages early and exports send smaller messages, so a client that kept
// the default gets every record, each once.
TEST_P(ThesisApiTest, LongRecordsListAndExportWithinTheDefaultMessageLimit) {
  const Thesis seed = testing::SeedThesis();
  ASSERT_FALSE(seed.abstract_en().empty()) << "deploy/seed/sample-thesis.json not read";
  std::vector<Thesis> records;
  size_t bytes = 0;
  for (int i = 0; i < 700; ++i) {
    Thesis t = seed;
    t.set_title_zh(absl::StrCat(seed.title_zh(), i));
    t.mutable_source()->set_record_id(absl::StrCat("LONG", i));
    bytes += t.ByteSizeLong();
    records.push_back(std::move(t));
  }
  ASSERT_GT(bytes, size_t{5} << 20) << "the records are not long enough to test anything";
  auto imported = client().ImportTheses(records);
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ(imported->created(), 700);

  client::ClientOptions options;
  options.target = server_->address();
  options.max_receive_message_bytes = 4 << 20;  // gRPC's default
  client::ThesisClient plain(options);

  thesis::v1::ListThesesRequest request;
  request.set_page_size(1000);
  request.set_order_by("title");
  std::set<std::string> listed;
  int pages = 0;
  do {
    auto page = plain.ListTheses(request);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const Thesis& t : page->theses()) EXPECT_TRUE(listed.insert(t.name()).second) << t.name();
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && pages < 100);
  EXPECT_EQ(listed.size(), 700u);
  EXPECT_GT(pages, 1);

  std::set<std::string> exported;
  absl::Status status = plain.ExportTheses({}, [&](const Thesis& t) {
    EXPECT_TRUE(exported.insert(t.name()).second) << t.name();
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(exported, listed);
}

// Records near the abstract limit (128 KB each): 100 of them are more than
// the server takes in one message (16 MiB); the client sends them in
// several, and every one is created.
TEST_P(ThesisApiTest, ImportOfVeryLongRecordsIsSplitIntoMessagesTheServerTakes) {
  const Thesis seed = testing::SeedThesis();
  ASSERT_FALSE(seed.abstract_en().empty()) << "deploy/seed/sample-thesis.json not read";
  auto repeated = [](const std::string& text, size_t bytes) {
    std::string out;
    while (out.size() + text.size() <= bytes) out += text;
    return out;
  };
  std::vector<Thesis> records;
  size_t bytes = 0;
  for (int i = 0; i < 100; ++i) {
    Thesis t = seed;
    t.set_title_zh(absl::StrCat(seed.title_zh(), "（长摘要）", i));
    t.mutable_source()->set_record_id(absl::StrCat("HUGE", i));
    t.set_abstract_zh(repeated(seed.abstract_zh(), 120 * 1024));
    t.set_abstract_en(repeated(seed.abstract_en(), 120 * 1024));
    bytes += t.ByteSizeLong();
    records.push_back(std::move(t));
  }
  ASSERT_GT(bytes, size_t{20} << 20);
  auto imported = client().ImportTheses(records);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->created(), 100);
  EXPECT_EQ(imported->failed(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, ThesisApiTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis
