// The COUNTER R5.1 rules, table-driven, with explicit event times.
#include "server/domain/counter.h"

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "tests/support/test_env.h"

namespace thesis::domain::counter {
namespace {

absl::Time At(const char* utc) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime("%Y-%m-%d %H:%M:%S", utc, absl::UTCTimeZone(), &t, &err)) << err;
  return t;
}

Event View(const char* time, const std::string& item = "t1") {
  Event e;
  e.item = item;
  e.time = At(time);
  e.kind = EventKind::kInvestigation;
  e.ip = "192.1.1.168";
  e.user_agent = "Mozilla/5.0";
  return e;
}

Event Download(const char* time, const std::string& item = "t1") {
  Event e = View(time, item);
  e.kind = EventKind::kRequest;
  return e;
}

Engine NewEngine() { return Engine(RobotFilter::BuiltIn()); }

struct DoubleClickCase {
  const char* label;
  std::vector<const char*> times;
  int64_t want_total;
};

TEST(CounterTest, DoubleClickWindowIsThirtySecondsAndChains) {
  const std::vector<DoubleClickCase> cases = {
      {"29 s apart: one action", {"2024-06-15 10:01:00", "2024-06-15 10:01:29"}, 1},
      {"30 s apart: one action", {"2024-06-15 10:01:00", "2024-06-15 10:01:30"}, 1},
      {"31 s apart: two", {"2024-06-15 10:01:00", "2024-06-15 10:01:31"}, 2},
      {"35 s apart: two", {"2024-06-15 10:01:00", "2024-06-15 10:01:35"}, 2},
      {"every 20 s for two minutes: one",
       {"2024-06-15 10:00:00", "2024-06-15 10:00:20", "2024-06-15 10:00:40", "2024-06-15 10:01:00",
        "2024-06-15 10:01:20", "2024-06-15 10:01:40", "2024-06-15 10:02:00"},
       1},
      {"a chain, a pause, another chain",
       {"2024-06-15 10:00:00", "2024-06-15 10:00:25", "2024-06-15 10:01:00", "2024-06-15 10:01:10"},
       2},
  };
  for (const DoubleClickCase& c : cases) {
    Engine requests = NewEngine(), views = NewEngine();
    std::vector<Outcome> outcomes;
    for (const char* t : c.times) {
      outcomes.push_back(requests.Record(Download(t)));
      views.Record(View(t));
    }
    EXPECT_EQ(requests.Total("t1").total_requests, c.want_total) << c.label;
    EXPECT_EQ(requests.Total("t1").total_investigations, c.want_total) << c.label;
    EXPECT_EQ(views.Total("t1").total_investigations, c.want_total) << c.label;
    EXPECT_EQ(views.Total("t1").total_requests, 0) << c.label;
    EXPECT_EQ(outcomes.front(), Outcome::kCounted) << c.label;
    if (c.want_total == 1) {
      EXPECT_EQ(outcomes.back(), Outcome::kDoubleClick) << c.label;
    }
  }
}

TEST(CounterTest, AChainCountsOnTheDayOfItsLastEvent) {
  Engine engine = NewEngine();
  engine.Record(Download("2024-06-15 23:59:50"));
  engine.Record(Download("2024-06-16 00:00:10"));
  EXPECT_EQ(engine.OnDay("t1", absl::CivilDay(2024, 6, 15)).total_requests, 0);
  EXPECT_EQ(engine.OnDay("t1", absl::CivilDay(2024, 6, 16)).total_requests, 1);
  EXPECT_EQ(engine.Total("t1").total_requests, 1);
}

TEST(CounterTest, UniqueCountsFollowSessionsHoursAndDays) {
  struct Case {
    const char* label;
    const char* first;
    const char* second;
    std::string session_cookie;
    int64_t want_unique;
  };
  const std::vector<Case> cases = {
      {"same hour, no session cookie", "2024-06-15 13:05:00", "2024-06-15 13:55:00", "", 1},
      {"hour boundary, no session cookie", "2024-06-15 13:59:59", "2024-06-15 14:00:01", "", 2},
      {"hour boundary, one session cookie", "2024-06-15 13:59:59", "2024-06-15 14:00:01", "s1", 1},
      {"day boundary, one session cookie", "2024-06-15 23:59:59", "2024-06-16 00:00:01", "s1", 2},
  };
  for (const Case& c : cases) {
    Engine engine = NewEngine();
    Event a = Download(c.first), b = Download(c.second);
    a.session_cookie = b.session_cookie = c.session_cookie;
    engine.Record(a);
    engine.Record(b);
    EXPECT_EQ(engine.Total("t1").unique_requests, c.want_unique) << c.label;
    EXPECT_EQ(engine.Total("t1").unique_investigations, c.want_unique) << c.label;
  }
  Event e = View("2024-06-15 13:20:00");
  EXPECT_EQ(UniqueSessionKey(e), "192.1.1.168|Mozilla/5.0|2024-06-15|13");
}

TEST(CounterTest, TheMostReliableIdentityDecides) {
  Event a = Download("2024-06-15 10:00:00"), b = Download("2024-06-15 10:00:10");
  a.user_id = b.user_id = "reader-7";
  a.ip = "10.0.0.1";
  b.ip = "10.0.0.2";  // a phone changing networks: still the same user
  EXPECT_EQ(UserIdentity(a), UserIdentity(b));
  Engine same = NewEngine();
  same.Record(a);
  EXPECT_EQ(same.Record(b), Outcome::kDoubleClick);
  EXPECT_EQ(same.Total("t1").total_requests, 1);

  // Without a user id, the user cookie, then the session cookie, then IP + UA.
  Event c = Download("2024-06-15 10:00:00"), d = Download("2024-06-15 10:00:10");
  c.session_cookie = "s1";
  d.session_cookie = "s2";
  Engine sessions = NewEngine();
  sessions.Record(c);
  EXPECT_EQ(sessions.Record(d), Outcome::kCounted) << "two sessions: two users";
  c.user_cookie = d.user_cookie = "u1";
  Engine cookies = NewEngine();
  cookies.Record(c);
  EXPECT_EQ(cookies.Record(d), Outcome::kDoubleClick) << "the user cookie outranks sessions";
  Event e = Download("2024-06-15 10:00:00"), f = Download("2024-06-15 10:00:10");
  f.user_agent = "Mozilla/5.0 (X11)";
  Engine agents = NewEngine();
  agents.Record(e);
  EXPECT_EQ(agents.Record(f), Outcome::kCounted) << "same IP, other browser: another user";
}

TEST(CounterTest, OnlyDeliveredResponsesCount) {
  const std::vector<std::pair<int, bool>> cases = {
      {200, true}, {206, false}, {304, true}, {404, false}, {500, false}};
  for (const auto& [status, counts] : cases) {
    Engine engine = NewEngine();
    Event e = Download("2024-06-15 10:00:00");
    e.http_status = status;
    EXPECT_EQ(engine.Record(e), counts ? Outcome::kCounted : Outcome::kNotSuccessful) << status;
    EXPECT_EQ(engine.Total("t1").total_requests, counts ? 1 : 0) << status;
  }
}

TEST(CounterTest, RobotsNeverCountWhateverTheirCase) {
  for (const char* agent :
       {"Mozilla/5.0 (compatible; Googlebot/2.1)", "MOZILLA/5.0 (COMPATIBLE; BINGBOT/2.0)",
        "Baiduspider", "curl/8.4.0", "python-requests/2.31", "", "x"}) {
    Engine engine = NewEngine();
    Event e = Download("2024-06-15 10:00:00");
    e.user_agent = agent;
    EXPECT_EQ(engine.Record(e), Outcome::kRobot) << agent;
    EXPECT_EQ(engine.Total("t1"), Counts()) << agent;
  }
  EXPECT_FALSE(RobotFilter::BuiltIn()->IsRobot(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"));
}

TEST(CounterTest, TheCounterRobotsListLoads) {
  const std::string path = testing::SharedDataDir() + "/counter-robots/COUNTER_Robots_list.json";
  std::optional<std::string> json = testing::ReadFile(path);
  if (!json) GTEST_SKIP() << path << " is absent (../shared/data not present): skipped";
  std::vector<std::string> rejected;
  auto filter = RobotFilter::WithCounterList(*json, &rejected);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_GE((*filter)->pattern_count(), 300u);
  EXPECT_LE(rejected.size(), 10u) << "patterns RE2 cannot compile";
  EXPECT_TRUE((*filter)->IsRobot("Buck/2.1"));          // ^Buck\/[0-9]
  EXPECT_TRUE((*filter)->IsRobot("ADMANTX platform"));  // ADmantX, other case
  EXPECT_FALSE((*filter)->IsRobot("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0"));
  EXPECT_FALSE(RobotFilter::WithCounterList("{\"pattern\": 1}").ok());
}

// The Code of Practice's example: 4 abstracts viewed, then 2 of them
// downloaded, in one session.
TEST(CounterTest, CodeOfPracticeExample) {
  Engine engine = NewEngine();
  const char* items[] = {"a", "b", "c", "d"};
  int minute = 0;
  for (const char* item : items) {
    Event e = View(absl::StrFormat("2024-06-15 10:%02d:00", minute++).c_str(), item);
    e.session_cookie = "session-1";
    EXPECT_EQ(engine.Record(e), Outcome::kCounted);
  }
  for (const char* item : {"a", "b"}) {
    Event e = Download(absl::StrFormat("2024-06-15 10:%02d:00", minute++).c_str(), item);
    e.session_cookie = "session-1";
    EXPECT_EQ(engine.Record(e), Outcome::kCounted);
  }
  Counts sum;
  for (const char* item : items) {
    Counts c = engine.Total(item);
    sum.total_investigations += c.total_investigations;
    sum.unique_investigations += c.unique_investigations;
    sum.total_requests += c.total_requests;
    sum.unique_requests += c.unique_requests;
  }
  EXPECT_EQ(sum.total_investigations, 6);
  EXPECT_EQ(sum.unique_investigations, 4);
  EXPECT_EQ(sum.total_requests, 2);
  EXPECT_EQ(sum.unique_requests, 2);
}

TEST(CounterTest, ARetriedEventCountsOnce) {
  Engine engine = NewEngine();
  Event e = Download("2024-06-15 10:00:00");
  e.request_id = "gateway-42";
  EXPECT_EQ(engine.Record(e), Outcome::kCounted);
  e.time += absl::Minutes(5);  // a late retry would otherwise count again
  EXPECT_EQ(engine.Record(e), Outcome::kDuplicateRequest);
  EXPECT_EQ(engine.Total("t1").total_requests, 1);
}

}  // namespace
}  // namespace thesis::domain::counter
