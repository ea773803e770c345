// DownloadService end to end: the real server (in this process) on each
// storage backend, called through the client library over gRPC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "server/storage/migrations.h"
#include "tests/support/backends.h"
#include "tests/support/in_process_server.h"
#include "tests/support/test_env.h"

namespace thesis {
namespace {

namespace v1 = thesis::v1;
using google::protobuf::util::TimeUtil;
using testing::BackendKind;
using ::testing::Contains;
using ::testing::ElementsAre;

// The service's clock decides which day an event is on: events are dated
// an hour ago, and days and months are taken from that time, so that the
// tests are right at any time of day.
const absl::Time kEventTime = absl::Now() - absl::Hours(1);

std::string Day(absl::Time t) {
  return absl::FormatCivilTime(absl::ToCivilDay(t, absl::UTCTimeZone()));
}
std::string Month(absl::Time t) {
  return absl::FormatCivilTime(absl::ToCivilMonth(t, absl::UTCTimeZone()));
}

v1::DownloadEvent Event(const std::string& thesis, v1::DownloadKind kind, const std::string& user,
                        absl::Time time = kEventTime) {
  v1::DownloadEvent e;
  e.set_thesis(thesis);
  e.set_kind(kind);
  e.set_http_status(200);
  e.mutable_client()->set_user_id(user);
  e.mutable_client()->set_ip("192.0.2.1");
  e.mutable_client()->set_user_agent("Mozilla/5.0");
  *e.mutable_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
  return e;
}

class DownloadApiTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { StartServer(ServerConfig()); }

  void StartServer(ServerConfig config) {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_download_api");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    config.workers = 4;
    config.required_schema_version = storage::RequiredSchemaVersion();
    auto server = testing::InProcessServer::Start(std::move(*backend), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    for (const char* id : {"a", "b", "c"}) {
      v1::CreateThesisRequest request;
      request.set_thesis_id(id);
      v1::Thesis* t = request.mutable_thesis();
      t->set_title_zh(absl::StrCat("论文", id));
      t->add_authors("作者");
      t->set_institution(id == std::string("c") ? "清华大学" : "兰州大学");
      t->set_degree_level(v1::DEGREE_LEVEL_MASTER);
      t->set_degree_year(2009);
      if (id == std::string("a")) t->set_legacy_download_count(99);
      ASSERT_TRUE(client().CreateThesis(request).ok());
    }
  }

  client::ThesisClient& client() { return server_->client(); }

  v1::CounterMetrics Totals(const std::string& name) {
    auto counts = client().BatchGetDownloadCounts({name});
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.ok() && counts->size() == 1 ? (*counts)[0].metrics() : v1::CounterMetrics();
  }

  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_P(DownloadApiTest, RecordsCountsAndAnswersRetriesWithTheFirstOutcome) {
  v1::DownloadEvent e = Event("theses/a", v1::REQUEST, "u1");
  e.set_request_id("gateway-1");
  auto first = client().RecordDownload(e);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome(), v1::COUNTED);
  auto retry = client().RecordDownload(e);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->outcome(), v1::DUPLICATE_REQUEST);
  EXPECT_EQ(retry->first_outcome(), v1::COUNTED);

  // 10 s later: a double click; then a robot; then a 404.
  auto again =
      client().RecordDownload(Event("theses/a", v1::REQUEST, "u1", kEventTime + absl::Seconds(10)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome(), v1::DOUBLE_CLICK);
  v1::DownloadEvent robot = Event("theses/a", v1::REQUEST, "u2");
  robot.mutable_client()->set_user_agent("Mozilla/5.0 (compatible; BaiduSpider/2.0)");
  EXPECT_EQ(client().RecordDownload(robot)->outcome(), v1::ROBOT);
  v1::DownloadEvent missing = Event("theses/a", v1::REQUEST, "u3");
  missing.set_http_status(404);
  EXPECT_EQ(client().RecordDownload(missing)->outcome(), v1::NOT_SUCCESSFUL);

  v1::CounterMetrics m = Totals("theses/a");
  EXPECT_EQ(m.total_item_requests(), 1);
  EXPECT_EQ(m.unique_item_requests(), 1);
  EXPECT_EQ(m.total_item_investigations(), 1);
  EXPECT_EQ(m.unique_item_investigations(), 1);
}

TEST_P(DownloadApiTest, UnknownThesesAreNotFoundAndLoseNothingElse) {
  auto single = client().RecordDownload(Event("theses/nope", v1::REQUEST, "u1"));
  EXPECT_EQ(single.status().code(), absl::StatusCode::kNotFound);
  auto batch = client().BatchRecordDownloads({Event("theses/a", v1::REQUEST, "u1"),
                                              Event("theses/nope", v1::REQUEST, "u1"),
                                              Event("theses/b", v1::INVESTIGATION, "u1")});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[0].outcome(), v1::COUNTED);
  EXPECT_EQ((*batch)[1].outcome(), v1::UNKNOWN_THESIS);
  EXPECT_EQ((*batch)[2].outcome(), v1::COUNTED);
  EXPECT_EQ(Totals("theses/a").total_item_requests(), 1);
  EXPECT_EQ(Totals("theses/b").total_item_investigations(), 1);
}

TEST_P(DownloadApiTest, BadEventsAreRejectedByFieldAndNothingIsRecorded) {
  struct Case {
    const char* label;
    std::function<void(v1::DownloadEvent&)> spoil;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"no kind", [](auto& e) { e.set_kind(v1::DOWNLOAD_KIND_UNSPECIFIED); }, "events[1].kind"},
      {"no status", [](auto& e) { e.set_http_status(0); }, "events[1].http_status"},
      {"bad name", [](auto& e) { e.set_thesis("a"); }, "events[1].thesis"},
      {"nobody", [](auto& e) { e.clear_client(); }, "events[1].client"},
      {"two days old",
       [](auto& e) {
         *e.mutable_time() =
             TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() - absl::Hours(48)));
       },
       "events[1].time"},
      {"in the future",
       [](auto& e) {
         *e.mutable_time() =
             TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now() + absl::Hours(1)));
       },
       "events[1].time"},
      {"bad request id", [](auto& e) { e.set_request_id("has space"); }, "events[1].request_id"},
  };
  for (const Case& c : cases) {
    v1::DownloadEvent bad = Event("theses/b", v1::REQUEST, "u9");
    c.spoil(bad);
    auto result = client().BatchRecordDownloads({Event("theses/a", v1::REQUEST, "u1"), bad});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
    EXPECT_THAT(client::ViolatedFields(result.status()), Contains(c.field)) << c.label;
  }
  // Thousands of bad events: still INVALID_ARGUMENT, the details capped so
  // that they fit in a response header, the message giving the count.
  std::vector<v1::DownloadEvent> many(5000, Event("theses/b", v1::REQUEST, "u9"));
  for (v1::DownloadEvent& e : many) e.set_thesis("bad name");
  auto refused = client().BatchRecordDownloads(many);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(client::ViolatedFields(refused.status()).size(), 40u);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("4999 more"));

  auto single = client().RecordDownload(v1::DownloadEvent());
  EXPECT_EQ(single.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::ViolatedFields(single.status()), Contains("event.kind"));
  EXPECT_EQ(Totals("theses/a").total_item_requests(), 0);
  EXPECT_EQ(Totals("theses/b").total_item_requests(), 0);
}

TEST_P(DownloadApiTest, StatsGiveTotalsSeriesAndTheLegacyCountApart) {
  ASSERT_TRUE(client()
                  .BatchRecordDownloads({Event("theses/a", v1::INVESTIGATION, "u1"),
                                         Event("theses/a", v1::REQUEST, "u1"),
                                         Event("theses/a", v1::REQUEST, "u2")})
                  .ok());
  const absl::CivilDay today = absl::ToCivilDay(kEventTime, absl::UTCTimeZone());
  auto stats = client().GetDownloadStats("theses/a", absl::FormatCivilTime(today - 2),
                                         absl::FormatCivilTime(today), v1::DAILY);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->legacy_download_count(), 99);
  EXPECT_EQ(stats->metrics().total_item_requests(), 2);
  EXPECT_EQ(stats->metrics().unique_item_requests(), 2);
  EXPECT_EQ(stats->metrics().total_item_investigations(), 3);
  EXPECT_EQ(stats->metrics().unique_item_investigations(), 2);
  ASSERT_EQ(stats->series_size(), 3);
  EXPECT_EQ(stats->series(0).period(), absl::FormatCivilTime(today - 2));
  EXPECT_EQ(stats->series(0).metrics().total_item_requests(), 0);
  EXPECT_EQ(stats->series(2).period(), Day(kEventTime));
  EXPECT_EQ(stats->series(2).metrics().total_item_requests(), 2);

  auto monthly = client().GetDownloadStats("theses/a", "", "", v1::MONTHLY);
  ASSERT_TRUE(monthly.ok()) << monthly.status();
  ASSERT_EQ(monthly->series_size(), 1);
  EXPECT_EQ(monthly->series(0).period(), Month(kEventTime));

  auto none = client().GetDownloadStats("theses/b");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->metrics().total_item_requests(), 0);
  EXPECT_FALSE(none->has_legacy_download_count());
  EXPECT_EQ(client().GetDownloadStats("theses/zzz").status().code(), absl::StatusCode::kNotFound);
  auto reversed = client().GetDownloadStats("theses/a", "2024-02-01", "2024-01-01");
  EXPECT_THAT(client::ViolatedFields(reversed.status()), Contains("end_date"));
  auto malformed = client().GetDownloadStats("theses/a", "2024/02/01");
  EXPECT_THAT(client::ViolatedFields(malformed.status()), Contains("start_date"));
}

TEST_P(DownloadApiTest, TopListsAndItemReportsFilterAndPage) {
  std::vector<v1::DownloadEvent> events;
  for (int u = 0; u < 3; ++u)
    events.push_back(Event("theses/b", v1::REQUEST, absl::StrCat("u", u)));
  for (int u = 0; u < 2; ++u)
    events.push_back(Event("theses/c", v1::REQUEST, absl::StrCat("u", u)));
  events.push_back(Event("theses/a", v1::REQUEST, "u0"));
  ASSERT_TRUE(client().BatchRecordDownloads(events).ok());

  v1::ListTopThesesRequest top;
  top.set_metric(v1::TOTAL_ITEM_REQUESTS);
  auto ranked = client().ListTopTheses(top);
  ASSERT_TRUE(ranked.ok()) << ranked.status();
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& t : ranked->theses()) got.push_back({t.thesis(), t.value()});
  EXPECT_THAT(got, ElementsAre(std::pair<std::string, int64_t>("theses/b", 3),
                               std::pair<std::string, int64_t>("theses/c", 2),
                               std::pair<std::string, int64_t>("theses/a", 1)));
  top.set_filter("institution = \"清华大学\"");
  top.set_start_date(Month(kEventTime));
  top.set_end_date(Month(kEventTime));
  ranked = client().ListTopTheses(top);
  ASSERT_TRUE(ranked.ok()) << ranked.status();
  ASSERT_EQ(ranked->theses_size(), 1);
  EXPECT_EQ(ranked->theses(0).thesis(), "theses/c");
  EXPECT_EQ(ranked->theses(0).title(), "论文c");
  top.clear_metric();
  EXPECT_THAT(client::ViolatedFields(client().ListTopTheses(top).status()), Contains("metric"));

  v1::GetItemReportRequest report;
  const absl::CivilMonth month = absl::ToCivilMonth(kEventTime, absl::UTCTimeZone());
  report.set_begin_month(absl::FormatCivilTime(month - 1));
  report.set_end_month(absl::FormatCivilTime(month));
  report.add_metrics(v1::TOTAL_ITEM_REQUESTS);
  report.add_metrics(v1::UNIQUE_ITEM_REQUESTS);
  report.set_page_size(2);
  auto page = client().GetItemReport(report);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->months(),
              ElementsAre(absl::FormatCivilTime(month - 1), absl::FormatCivilTime(month)));
  ASSERT_EQ(page->rows_size(), 4);  // items a and b, two metrics each
  EXPECT_EQ(page->rows(0).thesis(), "theses/a");
  EXPECT_EQ(page->rows(2).thesis(), "theses/b");
  EXPECT_EQ(page->rows(2).metric(), v1::TOTAL_ITEM_REQUESTS);
  EXPECT_THAT(page->rows(2).month_counts(), ElementsAre(0, 3));
  EXPECT_EQ(page->rows(2).reporting_period_total(), 3);
  ASSERT_FALSE(page->next_page_token().empty());
  report.set_page_token(page->next_page_token());
  page = client().GetItemReport(report);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->rows_size(), 2);
  EXPECT_EQ(page->rows(0).thesis(), "theses/c");
  EXPECT_TRUE(page->next_page_token().empty());
  // A token is bound to its query.
  report.set_end_month(absl::FormatCivilTime(month + 1));
  EXPECT_EQ(client().GetItemReport(report).status().code(), absl::StatusCode::kInvalidArgument);
  report.clear_page_token();
  report.set_end_month(absl::FormatCivilTime(month + 40));
  EXPECT_THAT(client::ViolatedFields(client().GetItemReport(report).status()),
              Contains("end_month"));
}

// Many callers at once are coalesced into group commits; every answer
// comes after its commit, so the counts are complete when the last returns.
TEST_P(DownloadApiTest, ConcurrentCallersAreAllCountedOnce) {
  constexpr int kThreads = 32, kEach = 20;
  std::atomic<int> counted{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = client().RecordDownload(
            Event("theses/a", v1::REQUEST, absl::StrCat("user-", t, "-", i)));
        if (!r.ok()) {
          ++failed;
        } else if (r->outcome() == v1::COUNTED) {
          ++counted;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(counted.load(), kThreads * kEach);
  EXPECT_EQ(Totals("theses/a").total_item_requests(), kThreads * kEach);
  EXPECT_EQ(Totals("theses/a").unique_item_requests(), kThreads * kEach);
}

TEST_P(DownloadApiTest, TheRobotsListReloadsWithoutRestart) {
  const std::string path = ::testing::TempDir() + "/robots-" + std::to_string(getpid()) + ".json";
  auto write = [&](const char* pattern) {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp) << "[{\"pattern\": \"" << pattern
                       << "\", \"last_changed\": \"2024-01-01\"}]";
    ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
  };
  write("ThesisHarvester");
  ServerConfig config;
  config.robots_file = path;
  config.readiness_interval = absl::Milliseconds(50);
  server_.reset();
  StartServer(config);
  v1::DownloadEvent e = Event("theses/a", v1::REQUEST, "u1");
  e.mutable_client()->set_user_agent("thesisharvester/1.0 (mixed case matches)");
  EXPECT_EQ(client().RecordDownload(e)->outcome(), v1::ROBOT);

  write("SomethingElse");
  bool counted = false;
  for (int i = 0; i < 100 && !counted; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    e.set_request_id(absl::StrCat("probe-", i));
    counted = client().RecordDownload(e)->outcome() != v1::ROBOT;
  }
  EXPECT_TRUE(counted) << "the new list was not loaded";
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Backends, DownloadApiTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis
