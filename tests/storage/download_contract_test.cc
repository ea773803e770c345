// The download-counting contract, the same on every storage backend: what a
// backend stores must equal what the reference engine
// (domain::counter::Engine) computes from the same events, day by day.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/domain/thesis_validation.h"
#include "tests/support/backends.h"

namespace thesis::storage {
namespace {

using domain::counter::Counts;
using domain::counter::Engine;
using domain::counter::Event;
using domain::counter::EventKind;
using domain::counter::Outcome;
using domain::counter::RobotFilter;
using testing::BackendKind;

absl::Time At(int day, int hour, int minute, int second) {
  return absl::FromCivil(absl::CivilSecond(2024, 6, day, hour, minute, second),
                         absl::UTCTimeZone());
}

Event MakeEvent(const std::string& item, absl::Time time, EventKind kind,
                const std::string& ip = "10.0.0.1") {
  Event e;
  e.item = item;
  e.time = time;
  e.kind = kind;
  e.ip = ip;
  e.user_agent = "Mozilla/5.0";
  return e;
}

class DownloadContractTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    auto backend = testing::MakeEmptyBackend(GetParam(), "thesis_test_downloads");
    if (!backend.ok()) GTEST_SKIP() << backend.status().message();
    backend_ = std::move(*backend);
    session_ = backend_->NewSession();
    for (const char* id : {"t1", "t2", "t3", "t4"}) {
      thesis::v1::Thesis t;
      t.set_name(domain::ThesisName(id));
      t.set_title_zh(absl::StrCat("论文", id));
      t.set_institution(id == std::string("t4") ? "清华大学" : "兰州大学");
      t.set_degree_year(2009);
      if (id == std::string("t1")) t.set_legacy_download_count(1234);
      ASSERT_TRUE(session_->theses().Create(ctx_, t, std::nullopt).ok());
    }
  }

  DownloadRepository& repo() { return session_->downloads(); }

  std::vector<RecordedEvent> MustRecord(const std::vector<Event>& events) {
    absl::StatusOr<std::vector<RecordedEvent>> r = repo().Record(ctx_, events, robots_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(std::vector<RecordedEvent>());
  }

  // Counts per day of `id` as stored, between June 1 and June 30 2024.
  std::map<absl::CivilDay, Counts> StoredDays(const std::string& id) {
    absl::StatusOr<DownloadStats> stats =
        repo().Stats(ctx_, id, DayRange{absl::CivilDay(2024, 6, 1), absl::CivilDay(2024, 6, 30)});
    EXPECT_TRUE(stats.ok()) << stats.status();
    std::map<absl::CivilDay, Counts> out;
    if (!stats.ok()) return out;
    for (const DayCounts& d : stats->days) {
      if (!(d.counts == Counts())) out[d.day] = d.counts;
    }
    return out;
  }

  static std::map<absl::CivilDay, Counts> ReferenceDays(const Engine& engine,
                                                        const std::string& id) {
    std::map<absl::CivilDay, Counts> out;
    for (absl::CivilDay d(2024, 6, 1); d <= absl::CivilDay(2024, 6, 30); ++d) {
      Counts c = engine.OnDay(id, d);
      if (!(c == Counts())) out[d] = c;
    }
    return out;
  }

  CallContext ctx_;
  std::shared_ptr<const RobotFilter> robots_ = RobotFilter::BuiltIn();
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Session> session_;
};

std::string Describe(const std::map<absl::CivilDay, Counts>& days) {
  std::string out;
  for (const auto& [day, c] : days) {
    absl::StrAppend(&out, absl::FormatCivilTime(day), ":", c.total_investigations, "/",
                    c.unique_investigations, "/", c.total_requests, "/", c.unique_requests, " ");
  }
  return out;
}

TEST_P(DownloadContractTest, CodeOfPracticeExample) {
  // Four abstracts viewed, then two of them downloaded, in one session.
  std::vector<Event> events;
  int second = 0;
  for (const char* id : {"t1", "t2", "t3", "t4"}) {
    Event e = MakeEvent(id, At(15, 10, 0, second++), EventKind::kInvestigation);
    e.session_cookie = "s1";
    events.push_back(e);
  }
  for (const char* id : {"t1", "t2"}) {
    Event e = MakeEvent(id, At(15, 10, 1, second++), EventKind::kRequest);
    e.session_cookie = "s1";
    events.push_back(e);
  }
  MustRecord(events);
  Counts sum;
  for (const char* id : {"t1", "t2", "t3", "t4"}) {
    for (const auto& [day, c] : StoredDays(id)) sum += c;
  }
  EXPECT_EQ(sum.total_investigations, 6);
  EXPECT_EQ(sum.unique_investigations, 4);
  EXPECT_EQ(sum.total_requests, 2);
  EXPECT_EQ(sum.unique_requests, 2);
}

TEST_P(DownloadContractTest, OutcomesAndRetriesAcrossBatches) {
  Event first = MakeEvent("t1", At(15, 10, 1, 0), EventKind::kRequest);
  first.request_id = "req-1";
  Event again = MakeEvent("t1", At(15, 10, 1, 29), EventKind::kRequest);
  Event later = MakeEvent("t1", At(15, 10, 2, 30), EventKind::kRequest);
  Event robot = MakeEvent("t1", At(15, 10, 3, 0), EventKind::kRequest, "10.0.0.2");
  robot.user_agent = "Mozilla/5.0 (compatible; GoogleBot/2.1)";
  Event failed = MakeEvent("t1", At(15, 10, 4, 0), EventKind::kRequest, "10.0.0.3");
  failed.http_status = 404;
  Event unknown = MakeEvent("nope", At(15, 10, 5, 0), EventKind::kRequest);

  std::vector<RecordedEvent> r = MustRecord({first, again, robot, failed, unknown});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].outcome, Outcome::kCounted);
  EXPECT_EQ(r[1].outcome, Outcome::kDoubleClick);
  EXPECT_EQ(r[2].outcome, Outcome::kRobot);
  EXPECT_EQ(r[3].outcome, Outcome::kNotSuccessful);
  EXPECT_FALSE(r[4].thesis_found);

  // A retry of the first event in a later batch: not counted again.
  r = MustRecord({first, later});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].outcome, Outcome::kDuplicateRequest);
  EXPECT_EQ(r[0].first_outcome, Outcome::kCounted);
  EXPECT_EQ(r[1].outcome, Outcome::kCounted);

  std::map<absl::CivilDay, Counts> days = StoredDays("t1");
  ASSERT_EQ(days.size(), 1u) << Describe(days);
  EXPECT_EQ(days.begin()->second.total_requests, 2);
  EXPECT_EQ(days.begin()->second.total_investigations, 2);
  EXPECT_EQ(days.begin()->second.unique_requests, 1);
}

TEST_P(DownloadContractTest, AChainAcrossMidnightMovesItsCountBetweenBatches) {
  MustRecord({MakeEvent("t1", At(15, 23, 59, 50), EventKind::kRequest)});
  EXPECT_EQ(StoredDays("t1")[absl::CivilDay(2024, 6, 15)].total_requests, 1);
  MustRecord({MakeEvent("t1", At(16, 0, 0, 10), EventKind::kRequest)});
  std::map<absl::CivilDay, Counts> days = StoredDays("t1");
  EXPECT_EQ(days[absl::CivilDay(2024, 6, 15)].total_requests, 0) << Describe(days);
  EXPECT_EQ(days[absl::CivilDay(2024, 6, 16)].total_requests, 1) << Describe(days);
  // Unique counts stay on the day of each session.
  EXPECT_EQ(days[absl::CivilDay(2024, 6, 15)].unique_requests, 1) << Describe(days);
  EXPECT_EQ(days[absl::CivilDay(2024, 6, 16)].unique_requests, 1) << Describe(days);
}

// Random events in random batches: the stored counts equal the reference
// engine's, day by day and in total, and so do the reads built on them.
TEST_P(DownloadContractTest, RandomEventsCountLikeTheReferenceEngine) {
  std::mt19937 rng(20241201);
  const std::vector<std::string> items = {"t1", "t2", "t3", "t4", "gone"};
  const std::vector<std::string> agents = {"Mozilla/5.0", "Mozilla/5.0 (X11)", "curl/8.0",
                                           "Mozilla/5.0 (compatible; bingbot/2.0)"};
  Engine reference(robots_);
  std::vector<Event> all;
  absl::Time t = At(14, 22, 0, 0);
  for (int i = 0; i < 1500; ++i) {
    t += absl::Seconds(std::uniform_int_distribution<int>(0, 40)(rng));
    Event e = MakeEvent(items[rng() % items.size()], t,
                        rng() % 3 == 0 ? EventKind::kRequest : EventKind::kInvestigation,
                        absl::StrCat("10.0.0.", rng() % 6));
    e.user_agent = agents[rng() % 10 < 8 ? rng() % 2 : 2 + rng() % 2];
    switch (rng() % 4) {
      case 0:
        e.user_id = absl::StrCat("u", rng() % 4);
        break;
      case 1:
        e.session_cookie = absl::StrCat("s", rng() % 4);
        break;
      default:
        break;
    }
    e.http_status = rng() % 12 == 0 ? 404 : (rng() % 8 == 0 ? 304 : 200);
    if (rng() % 3 == 0) e.request_id = absl::StrCat("r", rng() % 400);  // some repeat
    all.push_back(e);
  }
  std::vector<Outcome> want;
  for (const Event& e : all) {
    if (e.item == "gone") continue;
    want.push_back(reference.Record(e));
  }
  std::vector<Outcome> got;
  for (size_t i = 0; i < all.size();) {
    const size_t n = std::min<size_t>(all.size() - i, 1 + rng() % 60);
    std::vector<Event> batch(all.begin() + i, all.begin() + i + n);
    std::vector<RecordedEvent> r = MustRecord(batch);
    ASSERT_EQ(r.size(), n);
    for (size_t k = 0; k < n; ++k) {
      EXPECT_EQ(r[k].thesis_found, batch[k].item != "gone");
      if (r[k].thesis_found) got.push_back(r[k].outcome);
    }
    i += n;
  }
  EXPECT_EQ(got, want);
  for (const std::string id : {"t1", "t2", "t3", "t4"}) {
    EXPECT_EQ(Describe(StoredDays(id)), Describe(ReferenceDays(reference, id))) << id;
  }

  absl::StatusOr<std::vector<ThesisCounts>> totals = repo().Totals(ctx_, {"t3", "t1", "gone"});
  ASSERT_TRUE(totals.ok()) << totals.status();
  ASSERT_EQ(totals->size(), 3u);
  EXPECT_EQ((*totals)[0].id, "t3");
  EXPECT_TRUE((*totals)[0].counts == reference.Total("t3"));
  EXPECT_TRUE((*totals)[1].counts == reference.Total("t1"));
  EXPECT_EQ((*totals)[1].legacy_download_count, 1234);
  EXPECT_FALSE((*totals)[2].thesis_found);

  TopQuery top;
  top.metric = Metric::kTotalInvestigations;
  top.range = DayRange{absl::CivilDay(2024, 6, 1), absl::CivilDay(2024, 6, 30)};
  absl::StatusOr<std::vector<TopRow>> rows = repo().Top(ctx_, top);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  for (size_t i = 1; i < rows->size(); ++i) {
    EXPECT_GE((*rows)[i - 1].counts.total_investigations, (*rows)[i].counts.total_investigations);
  }
  for (const TopRow& row : *rows) {
    EXPECT_TRUE(row.counts == reference.Total(row.id)) << row.id;
  }
  top.has_filter = true;
  top.filter.institution = "清华大学";
  rows = repo().Top(ctx_, top);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "t4");
  EXPECT_EQ((*rows)[0].title, "论文t4");

  ReportQuery report;
  report.first = absl::CivilMonth(2024, 5);
  report.last = absl::CivilMonth(2024, 7);
  report.limit = 3;
  absl::StatusOr<ReportPage> page = repo().Report(ctx_, report);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->items[0].id, "t1");
  EXPECT_EQ(page->items[0].institution, "兰州大学");
  ASSERT_EQ(page->items[0].months.size(), 3u);
  EXPECT_TRUE(page->items[0].months[0] == Counts());
  EXPECT_TRUE(page->items[0].months[1] == reference.Total("t1"));
  report.after = page->items.back().id;
  page = repo().Report(ctx_, report);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "t4");
  EXPECT_FALSE(page->more);
}

TEST_P(DownloadContractTest, DeletingAThesisKeepsItsCounts) {
  MustRecord({MakeEvent("t2", At(15, 10, 0, 0), EventKind::kRequest)});
  ASSERT_TRUE(session_->theses().Delete(ctx_, "t2", "", std::nullopt).ok());
  std::map<absl::CivilDay, Counts> days = StoredDays("t2");
  EXPECT_EQ(days[absl::CivilDay(2024, 6, 15)].total_requests, 1);
  TopQuery top;
  top.metric = Metric::kTotalRequests;
  absl::StatusOr<std::vector<TopRow>> rows = repo().Top(ctx_, top);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "t2");
  EXPECT_EQ((*rows)[0].title, "");
  // New events for it are refused.
  EXPECT_FALSE(
      MustRecord({MakeEvent("t2", At(15, 11, 0, 0), EventKind::kRequest)})[0].thesis_found);
}

// Several sessions (as several replicas would) record the same events at
// once, each under its own request ids, plus one shared request id: the
// state rows they create concurrently must not count twice. All events of
// one user and item share one time, so the right counts do not depend on
// the order the sessions commit in.
TEST_P(DownloadContractTest, ConcurrentSessionsCountLikeOne) {
  constexpr int kSessions = 4;
  std::vector<Event> events;
  for (int user = 0; user < 30; ++user) {
    for (const char* id : {"t1", "t2"}) {
      Event e = MakeEvent(id, At(15, 9, user, 0),
                          user % 2 ? EventKind::kRequest : EventKind::kInvestigation);
      e.user_id = absl::StrCat("u", user);
      events.push_back(e);
    }
  }
  Engine reference(robots_);
  for (const Event& e : events) reference.Record(e);
  Event shared = MakeEvent("t3", At(15, 9, 0, 0), EventKind::kRequest);
  shared.request_id = "shared";

  std::vector<std::thread> threads;
  std::atomic<int> counted_shared{0};
  std::atomic<int> failures{0};
  for (int s = 0; s < kSessions; ++s) {
    threads.emplace_back([&, s] {
      std::unique_ptr<Session> session = backend_->NewSession();
      std::vector<Event> mine = events;
      std::shuffle(mine.begin(), mine.end(), std::mt19937(s));
      for (Event& e : mine) e.request_id = absl::StrCat("s", s, "-", e.item, "-", e.user_id);
      mine.push_back(shared);
      for (size_t i = 0; i < mine.size(); i += 7) {
        std::vector<Event> batch(mine.begin() + i, mine.begin() + std::min(mine.size(), i + 7));
        auto r = session->downloads().Record(CallContext(), batch, robots_);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        for (size_t k = 0; k < batch.size(); ++k) {
          if (batch[k].request_id == "shared" && (*r)[k].outcome == Outcome::kCounted) {
            ++counted_shared;
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(counted_shared.load(), 1);
  for (const std::string id : {"t1", "t2"}) {
    EXPECT_EQ(Describe(StoredDays(id)), Describe(ReferenceDays(reference, id))) << id;
  }
  EXPECT_EQ(StoredDays("t3")[absl::CivilDay(2024, 6, 15)].total_requests, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, DownloadContractTest,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kPostgres),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace thesis::storage
