// Download counting survives faults: a load client records events against
// two replicas of the real thesis-server binary on one private PostgreSQL
// cluster, retrying every failed call with the same request_id until it is
// acknowledged. Mid-run one replica is killed with SIGKILL and restarted,
// and PostgreSQL is restarted. Afterwards the stored counts must equal
// exactly what the acknowledged events imply (the reference engine of
// server/domain/counter.h fed with them): none lost, none doubled.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/domain/counter.h"
#include "server/server.h"
#include "server/storage/pg_admin.h"
#include "tests/support/server_process.h"
#include "tests/support/test_env.h"
#include "thesis/client/thesis_client.h"

namespace thesis {
namespace {

namespace v1 = thesis::v1;
namespace counter = domain::counter;
using grpc::health::v1::HealthCheckResponse;

constexpr char kPgBin[] = "/usr/lib/postgresql/15/bin/initdb";
constexpr char kDatabase[] = "thesis_test_fault";
constexpr char kPageTokenSecret[] = "download-fault-test-secret";
constexpr char kBrowser[] =
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0";
constexpr char kRobot[] =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

constexpr int kThreads = 8;
constexpr int kStepsPerThread = 150;  // a step is one RecordDownload or BatchRecordDownloads
constexpr int kUsersPerThread = 4;
constexpr int kTheses = 5;
constexpr absl::Duration kStepPause = absl::Milliseconds(10);
constexpr absl::Duration kGiveUpAfter = absl::Seconds(60);  // for one event

// ---- Processes --------------------------------------------------------------

// Runs scripts/pg-private.sh; its stdout (the URL for start), or nothing when
// it failed.
std::optional<std::string> PgScript(const std::string& command, const std::string& dir) {
  const std::string cmd =
      absl::StrCat("bash " THESIS_PG_SCRIPT " ", command, " '", dir, "' ", kDatabase);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  if (pclose(pipe) != 0) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(out));
}

// A private PostgreSQL cluster in `dir`, stopped and removed on destruction.
class PrivateCluster {
 public:
  explicit PrivateCluster(std::string dir) : dir_(std::move(dir)) {}
  ~PrivateCluster() {
    PgScript("stop", dir_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

using Replica = testing::ServerProcess;

// A replica on a free port, ready.
absl::StatusOr<Replica> StartReplica(const std::string& url, const std::string& log) {
  return testing::StartServer(
      THESIS_SERVER_BINARY,
      {"serve", "--storage=postgres", "--database_url=" + url, "--listen=127.0.0.1:0",
       absl::StrCat("--page_token_secret=", kPageTokenSecret), "--workers=4", "--drain_s=0",
       "--shutdown_grace_s=2", "--readiness_interval_ms=200"},
      log);
}

// The clients of the two replica slots; a restarted replica replaces its slot.
// Besides the patient client (5 s deadlines) each slot has impatient ones on
// the same channel, whose deadlines run out while the server is still
// committing: the event counts, the answer is lost, and the retry must
// answer DUPLICATE_REQUEST.
constexpr absl::Duration kImpatientTimeouts[] = {absl::Milliseconds(2), absl::Milliseconds(5),
                                                 absl::Milliseconds(10), absl::Milliseconds(20)};
constexpr int kImpatient = sizeof(kImpatientTimeouts) / sizeof(kImpatientTimeouts[0]);

class ReplicaClients {
 public:
  void Set(int slot, const std::string& address) {
    client::ClientOptions options;
    options.target = address;
    options.max_attempts = 2;
    std::shared_ptr<grpc::Channel> channel = client::CreateChannel(options);
    std::vector<std::shared_ptr<client::ThesisClient>> clients;
    options.default_timeout = absl::Seconds(5);
    clients.push_back(std::make_shared<client::ThesisClient>(channel, options));
    for (absl::Duration timeout : kImpatientTimeouts) {
      options.default_timeout = timeout;
      clients.push_back(std::make_shared<client::ThesisClient>(channel, options));
    }
    absl::MutexLock lock(&mu_);
    clients_[slot] = std::move(clients);
  }
  // `impatience` 0: the patient client; i > 0: deadline kImpatientTimeouts[i - 1].
  std::shared_ptr<client::ThesisClient> Get(int slot, int impatience = 0) {
    absl::MutexLock lock(&mu_);
    return clients_[slot][impatience];
  }

 private:
  absl::Mutex mu_;
  std::vector<std::shared_ptr<client::ThesisClient>> clients_[2];
};

// ---- The load ---------------------------------------------------------------

// One event as the client sent it and the answer that acknowledged it.
struct Sent {
  v1::DownloadEvent event;
  bool resend = false;  // a deliberate re-send of an acknowledged event
  int original = -1;    // for a resend: index of the original in the log
  bool known = true;    // the thesis exists
  int user = -1;        // of this thread
  v1::RecordDownloadResponse answer;
};

struct ThreadLog {
  std::vector<Sent> sent;  // in the order acknowledged
  int64_t calls = 0;       // attempts, failed ones included
  int64_t retried_steps = 0;
  int64_t lost_answers = 0;  // a retry answered DUPLICATE_REQUEST: an earlier attempt committed
  std::map<int, int64_t> errors;  // grpc code -> failed attempts
  std::string fatal;              // why the thread stopped early
};

bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

std::string ThesisId(int i) { return absl::StrCat("fault-", i); }
std::string ThesisName(int i) { return "theses/" + ThesisId(i); }

// The users of a thread are its own: every identity carries the thread.
void SetIdentity(int thread, int user, v1::ClientIdentity* c) {
  switch (user % 4) {
    case 0:
      c->set_user_id(absl::StrCat("reader-", thread, "-", user));
      break;
    case 1:
      c->set_user_cookie(absl::StrCat("cookie-", thread, "-", user));
      break;
    case 2:
      c->set_session_cookie(absl::StrCat("session-", thread, "-", user));
      break;
    default:
      break;  // IP + User-Agent
  }
  c->set_ip(absl::StrCat("10.", thread, ".", user, ".7"));
  c->set_user_agent(kBrowser);
}

void SetTime(absl::Time t, v1::DownloadEvent* e) {
  // Microseconds, as PostgreSQL keeps them.
  const int64_t micros = absl::ToUnixMicros(t);
  e->mutable_time()->set_seconds(micros / 1000000);
  e->mutable_time()->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

class LoadThread {
 public:
  LoadThread(int index, ReplicaClients& replicas, std::atomic<int64_t>& steps_done)
      : index_(index), replicas_(replicas), steps_done_(steps_done), rng_(7919 * (index + 1)) {
    // Each user's clock starts in the past (the server takes events up to
    // 24 hours old) and moves on with every event of the user, a few hours
    // in all, so that double-click chains end, unique sessions change with
    // the hour, and, when the time of day allows, the events span the last
    // UTC midnight (a chain's count moves to the day of its last event).
    const absl::Time now = absl::Now();
    const absl::Time midnight =
        absl::FromCivil(absl::ToCivilDay(now, absl::UTCTimeZone()), absl::UTCTimeZone());
    const absl::Time start = now - midnight >= absl::Hours(5) && now - midnight <= absl::Hours(21)
                                 ? midnight - absl::Minutes(90)
                                 : now - absl::Hours(20);
    for (absl::Time& t : clocks_) t = start + absl::Seconds(Pick(3600));
  }

  void Run() {
    for (int step = 0; step < kStepsPerThread && log_.fatal.empty(); ++step) {
      std::vector<Sent> batch;
      const bool is_batch = step % 7 == 6;
      const int n = is_batch ? 2 + static_cast<int>(rng_() % 4) : 1;
      for (int i = 0; i < n; ++i) batch.push_back(Next(/*in_batch=*/is_batch));
      if (!Send(step % 2, is_batch, &batch)) break;
      for (Sent& s : batch) {
        if (!s.resend && s.known) {
          if (s.answer.outcome() == v1::DUPLICATE_REQUEST) ++log_.lost_answers;
          acknowledged_.push_back(static_cast<int>(log_.sent.size()));
          if (s.event.http_status() == 200 && s.event.client().user_agent() == kBrowser) {
            last_countable_ = static_cast<int>(log_.sent.size());
          }
        }
        log_.sent.push_back(std::move(s));
      }
      ++steps_done_;
      absl::SleepFor(kStepPause);
    }
  }

  const ThreadLog& log() const { return log_; }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

  // The time of the user's next event: `gap` after the last one, not later than now.
  absl::Time Advance(int user, absl::Duration gap) {
    clocks_[user] = std::min(clocks_[user] + gap, absl::Now());
    return clocks_[user];
  }
  // Within the double-click window, or beyond it by a little or a lot.
  absl::Duration RandomGap() {
    const int r = Pick(100);
    if (r < 35) return absl::Seconds(1 + Pick(20));
    if (r < 70) return absl::Seconds(31 + Pick(270));
    return absl::Minutes(5 + Pick(15));
  }

  Sent Next(bool in_batch) {
    const int r = Pick(100);
    Sent s;
    if (r < 8 && !acknowledged_.empty()) {
      // The same event again, request_id included: must not count again.
      s.resend = true;
      s.original = acknowledged_[Pick(static_cast<int>(acknowledged_.size()))];
      s.event = log_.sent[s.original].event;
      return s;
    }
    v1::DownloadEvent& e = s.event;
    if (r < 25 && last_countable_ >= 0) {
      // A double click: the same user does the same thing again at once.
      const Sent& last = log_.sent[last_countable_];
      e.set_thesis(last.event.thesis());
      e.set_kind(last.event.kind());
      *e.mutable_client() = last.event.client();
      e.set_http_status(200);
      s.user = last.user;
      SetTime(Advance(s.user, absl::Seconds(Pick(10))), &e);
    } else {
      e.set_thesis(ThesisName(Pick(kTheses)));
      e.set_kind(Pick(2) == 0 ? v1::REQUEST : v1::INVESTIGATION);
      s.user = Pick(kUsersPerThread);
      SetIdentity(index_, s.user, e.mutable_client());
      SetTime(Advance(s.user, RandomGap()), &e);
      e.set_http_status(Pick(5) == 0 ? 304 : 200);
      if (r >= 25 && r < 33) e.mutable_client()->set_user_agent(kRobot);
      if (r >= 33 && r < 41) e.set_http_status(404);
      if (in_batch && r >= 41 && r < 47) {
        e.set_thesis(absl::StrCat("theses/missing-", index_));
        s.known = false;
      }
    }
    e.set_request_id(absl::StrCat("t", index_, "-", client::NewRequestId()));
    return s;
  }

  // Sends until acknowledged, alternating replicas, the same request ids
  // every time. False (and log_.fatal) when it gave up.
  bool Send(int first_slot, bool is_batch, std::vector<Sent>* batch) {
    const absl::Time give_up = absl::Now() + kGiveUpAfter;
    for (int attempt = 0;; ++attempt) {
      // One first attempt in eight is impatient.
      const int impatience = attempt == 0 && Pick(8) == 0 ? 1 + Pick(kImpatient) : 0;
      std::shared_ptr<client::ThesisClient> c =
          replicas_.Get((first_slot + attempt) % 2, impatience);
      ++log_.calls;
      absl::Status status;
      if (is_batch) {
        std::vector<v1::DownloadEvent> events;
        for (const Sent& s : *batch) events.push_back(s.event);
        absl::StatusOr<std::vector<v1::RecordDownloadResponse>> answers =
            c->BatchRecordDownloads(std::move(events));
        status = answers.status();
        if (answers.ok()) {
          if (answers->size() != batch->size()) {
            log_.fatal = absl::StrCat("thread ", index_, ": ", answers->size(), " answers for ",
                                      batch->size(), " events");
            return false;
          }
          for (size_t i = 0; i < batch->size(); ++i) (*batch)[i].answer = (*answers)[i];
        }
      } else {
        absl::StatusOr<v1::RecordDownloadResponse> answer = c->RecordDownload((*batch)[0].event);
        status = answer.status();
        if (answer.ok()) (*batch)[0].answer = *answer;
      }
      if (status.ok()) {
        if (attempt > 0) ++log_.retried_steps;
        return true;
      }
      const auto code = static_cast<grpc::StatusCode>(status.code());
      ++log_.errors[code];
      if (!Retryable(code)) {
        log_.fatal = absl::StrCat("thread ", index_, ": not retryable: ", status.ToString());
        return false;
      }
      if (absl::Now() > give_up) {
        log_.fatal = absl::StrCat("thread ", index_, ": not acknowledged after ",
                                  absl::FormatDuration(kGiveUpAfter), ": ", status.ToString());
        return false;
      }
      // Both replicas tried: back off a little (10 ms doubling, at most 300 ms).
      if (attempt % 2 == 1) {
        absl::SleepFor(std::min(absl::Milliseconds(10) * (1 << std::min(attempt / 2, 5)),
                                absl::Milliseconds(300)));
      }
    }
  }

  const int index_;
  ReplicaClients& replicas_;
  std::atomic<int64_t>& steps_done_;
  std::mt19937 rng_;
  ThreadLog log_;
  std::vector<int> acknowledged_;  // indexes of original events of known theses
  int last_countable_ = -1;
  absl::Time clocks_[kUsersPerThread];
};

// ---- The reference ----------------------------------------------------------

counter::Event ToDomain(const v1::DownloadEvent& e) {
  counter::Event out;
  out.item = e.thesis().substr(sizeof("theses/") - 1);
  out.time = absl::FromUnixSeconds(e.time().seconds()) + absl::Nanoseconds(e.time().nanos());
  out.kind =
      e.kind() == v1::REQUEST ? counter::EventKind::kRequest : counter::EventKind::kInvestigation;
  out.http_status = e.http_status();
  out.user_id = e.client().user_id();
  out.user_cookie = e.client().user_cookie();
  out.session_cookie = e.client().session_cookie();
  out.ip = e.client().ip();
  out.user_agent = e.client().user_agent();
  out.request_id = e.request_id();
  return out;
}

v1::DownloadOutcome ToProto(counter::Outcome o) {
  switch (o) {
    case counter::Outcome::kCounted:
      return v1::COUNTED;
    case counter::Outcome::kDoubleClick:
      return v1::DOUBLE_CLICK;
    case counter::Outcome::kRobot:
      return v1::ROBOT;
    case counter::Outcome::kNotSuccessful:
      return v1::NOT_SUCCESSFUL;
    case counter::Outcome::kDuplicateRequest:
      return v1::DUPLICATE_REQUEST;
  }
  return v1::DOWNLOAD_OUTCOME_UNSPECIFIED;
}

// What an acknowledged first recording decided: a retry whose earlier
// attempt had committed says so in first_outcome.
v1::DownloadOutcome Effective(const v1::RecordDownloadResponse& r) {
  return r.outcome() == v1::DUPLICATE_REQUEST ? r.first_outcome() : r.outcome();
}

std::string Describe(const v1::DownloadEvent& e) {
  return absl::StrCat(e.request_id(), " ", e.thesis(), " ", v1::DownloadKind_Name(e.kind()), " ",
                      e.http_status(), " user[", e.client().ShortDebugString(),
                      "] t=", e.time().seconds(), ".", e.time().nanos());
}

std::string Show(const counter::Counts& c) {
  return absl::StrCat("{TII ", c.total_investigations, ", UII ", c.unique_investigations, ", TIR ",
                      c.total_requests, ", UIR ", c.unique_requests, "}");
}

counter::Counts FromProto(const v1::CounterMetrics& m) {
  counter::Counts c;
  c.total_investigations = m.total_item_investigations();
  c.unique_investigations = m.unique_item_investigations();
  c.total_requests = m.total_item_requests();
  c.unique_requests = m.unique_item_requests();
  return c;
}

// Retries reads for a while: right after the faults a replica may still be
// reconnecting.
template <typename Call>
auto ReadWithRetry(Call call) -> decltype(call()) {
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  for (;;) {
    auto result = call();
    if (result.ok() || !Retryable(static_cast<grpc::StatusCode>(result.status().code())) ||
        absl::Now() > give_up) {
      return result;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string LogTail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    absl::StrAppend(&out, "  ", all[i], "\n");
  }
  return out;
}

// ---- The test ---------------------------------------------------------------

class DownloadFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestDatabaseAdminUrl().empty()) GTEST_SKIP() << testing::kNoDatabaseMessage;
    if (!std::filesystem::exists(kPgBin)) {
      GTEST_SKIP() << "PostgreSQL 15 server binaries not installed (" << kPgBin
                   << "): download fault test skipped";
    }
    char dir_template[] = "/tmp/thesis-fault-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    cluster_ = std::make_unique<PrivateCluster>(dir_template);
    std::optional<std::string> url = PgScript("start", cluster_->dir());
    ASSERT_TRUE(url && !url->empty())
        << "could not start a private PostgreSQL in " << cluster_->dir();
    url_ = *url;

    auto migrate = testing::SpawnServer(THESIS_SERVER_BINARY, {"migrate", "--database_url=" + url_},
                                        LogPath("migrate"));
    ASSERT_TRUE(migrate->started());
    for (std::string line; migrate->ReadLine(&line);) {
    }
    ASSERT_EQ(migrate->Wait(), 0) << LogTail(LogPath("migrate"), 20);
  }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      for (const char* name : {"replica-a", "replica-a2", "replica-b", "migrate"}) {
        std::cout << "--- last lines of " << name << ".log:\n" << LogTail(LogPath(name), 30);
      }
    }
    // Replicas first (SIGKILL and reaped by their Subprocess), then the cluster.
    replica_a_.process.reset();
    replica_b_.process.reset();
    cluster_.reset();
  }

  std::string LogPath(const std::string& name) const {
    return cluster_->dir() + "/" + name + ".log";
  }

  std::unique_ptr<PrivateCluster> cluster_;
  std::string url_;
  Replica replica_a_, replica_b_;
};

TEST_F(DownloadFaultTest, AcknowledgedEventsCountExactlyOnceAcrossReplicaKillAndDatabaseRestart) {
  const absl::Time test_start = absl::Now();
  {
    absl::StatusOr<Replica> a = StartReplica(url_, LogPath("replica-a"));
    ASSERT_TRUE(a.ok()) << a.status();
    replica_a_ = std::move(*a);
    absl::StatusOr<Replica> b = StartReplica(url_, LogPath("replica-b"));
    ASSERT_TRUE(b.ok()) << b.status();
    replica_b_ = std::move(*b);
  }
  ReplicaClients replicas;
  replicas.Set(0, replica_a_.address);
  replicas.Set(1, replica_b_.address);
  for (int i = 0; i < kTheses; ++i) {
    v1::Thesis t;
    t.set_title_zh(absl::StrCat("故障测试论文 ", i));
    t.add_authors("作者");
    absl::StatusOr<v1::Thesis> created = replicas.Get(i % 2)->CreateThesis(t, ThesisId(i));
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // The load, and the faults while it runs.
  std::atomic<int64_t> steps_done{0};
  std::atomic<int> threads_done{0};
  std::vector<std::unique_ptr<LoadThread>> loads;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    loads.push_back(std::make_unique<LoadThread>(t, replicas, steps_done));
  }
  const absl::Time load_start = absl::Now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      loads[t]->Run();
      ++threads_done;
    });
  }
  constexpr int64_t kTotalSteps = int64_t{kThreads} * kStepsPerThread;
  auto wait_for_steps = [&](int64_t n) {
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (steps_done < n && threads_done < kThreads && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    return steps_done.load();
  };

  const int64_t at_kill = wait_for_steps(kTotalSteps / 3);
  replica_a_.process->Signal(SIGKILL);
  EXPECT_EQ(replica_a_.process->Wait(), 128 + SIGKILL);
  const absl::Time killed = absl::Now();
  absl::StatusOr<Replica> a2 = StartReplica(url_, LogPath("replica-a2"));
  EXPECT_TRUE(a2.ok()) << a2.status();
  absl::Duration replica_down;
  if (a2.ok()) {
    replica_a_ = std::move(*a2);
    replicas.Set(0, replica_a_.address);
    replica_down = absl::Now() - killed;
  }

  const int64_t at_pg_stop = wait_for_steps(2 * kTotalSteps / 3);
  const absl::Time pg_stop = absl::Now();
  EXPECT_TRUE(PgScript("stop", cluster_->dir()).has_value()) << "pg-private.sh stop failed";
  absl::SleepFor(absl::Milliseconds(300));  // calls meet a database that is gone
  std::optional<std::string> restarted = PgScript("start", cluster_->dir());
  EXPECT_EQ(restarted.value_or("(start failed)"), url_) << "the cluster came back elsewhere";
  const absl::Duration pg_down = absl::Now() - pg_stop;

  for (std::thread& t : threads) t.join();
  const absl::Duration load_time = absl::Now() - load_start;
  ASSERT_TRUE(a2.ok()) << "the killed replica could not be restarted";

  EXPECT_LT(at_kill, kTotalSteps) << "the load ended before the replica was killed";
  EXPECT_LT(at_pg_stop, kTotalSteps) << "the load ended before PostgreSQL was restarted";

  // What the threads saw.
  int64_t calls = 0, retried = 0, lost = 0, events = 0, resends = 0;
  std::map<int, int64_t> errors;
  bool complete = true;
  for (const auto& load : loads) {
    const ThreadLog& log = load->log();
    if (!log.fatal.empty()) {
      ADD_FAILURE() << log.fatal;
      complete = false;
    }
    calls += log.calls;
    retried += log.retried_steps;
    lost += log.lost_answers;
    for (const auto& [code, n] : log.errors) errors[code] += n;
    for (const Sent& s : log.sent) (s.resend ? resends : events) += 1;
  }
  std::string error_text;
  for (const auto& [code, n] : errors) absl::StrAppend(&error_text, " code ", code, ": ", n, ";");
  std::cout << "load: " << steps_done << " steps, " << events << " events + " << resends
            << " re-sends in " << absl::FormatDuration(load_time) << "; " << calls
            << " calls, failed:" << error_text << " " << retried << " steps retried, " << lost
            << " events acknowledged as DUPLICATE_REQUEST on a retry (answer lost); replica A "
            << "killed at step " << at_kill << ", back after " << absl::FormatDuration(replica_down)
            << "; PostgreSQL stopped at step " << at_pg_stop << ", back after "
            << absl::FormatDuration(pg_down) << "\n";
  ASSERT_TRUE(complete) << "a thread gave up: its last event may or may not have counted";
  EXPECT_GT(retried, 0) << "the faults never met the load";

  // The reference: every acknowledged event once, in each thread's order
  // (threads have users of their own, so only that order matters).
  counter::Engine engine(counter::RobotFilter::BuiltIn());
  std::map<std::string, int> expected_stored;  // request_id -> outcome code
  std::set<absl::CivilDay> days;
  int mismatches = 0;
  for (const auto& load : loads) {
    const std::vector<Sent>& sent = load->log().sent;
    std::vector<v1::DownloadOutcome> decided(sent.size(), v1::DOWNLOAD_OUTCOME_UNSPECIFIED);
    for (size_t i = 0; i < sent.size(); ++i) {
      const Sent& s = sent[i];
      if (!s.known) {
        EXPECT_EQ(s.answer.outcome(), v1::UNKNOWN_THESIS) << Describe(s.event);
        continue;
      }
      const counter::Event e = ToDomain(s.event);
      days.insert(absl::ToCivilDay(e.time, absl::UTCTimeZone()));
      const v1::DownloadOutcome want = ToProto(engine.Record(e));
      if (s.resend) {
        EXPECT_EQ(want, v1::DUPLICATE_REQUEST);
        const bool ok = s.answer.outcome() == v1::DUPLICATE_REQUEST &&
                        s.answer.first_outcome() == decided[s.original];
        if (!ok && ++mismatches <= 10) {
          ADD_FAILURE() << "re-send of " << Describe(s.event) << " answered "
                        << s.answer.ShortDebugString() << ", want DUPLICATE_REQUEST of "
                        << v1::DownloadOutcome_Name(decided[s.original]);
        }
        continue;
      }
      decided[i] = want;
      expected_stored[s.event.request_id()] = want;
      if (Effective(s.answer) != want && ++mismatches <= 10) {
        ADD_FAILURE() << Describe(s.event) << " answered " << s.answer.ShortDebugString()
                      << ", the reference says " << v1::DownloadOutcome_Name(want);
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "answers that differ from the reference";

  // Counts, as each replica serves them.
  std::vector<std::string> names;
  for (int i = 0; i < kTheses; ++i) names.push_back(ThesisName(i));
  const std::string first_day = absl::FormatCivilTime(*days.begin());
  const std::string last_day = absl::FormatCivilTime(*days.rbegin());
  for (int slot = 0; slot < 2; ++slot) {
    SCOPED_TRACE(slot == 0 ? "restarted replica A" : "replica B");
    std::shared_ptr<client::ThesisClient> c = replicas.Get(slot);
    absl::StatusOr<std::vector<v1::DownloadCounts>> totals =
        ReadWithRetry([&] { return c->BatchGetDownloadCounts(names); });
    ASSERT_TRUE(totals.ok()) << totals.status();
    ASSERT_EQ(totals->size(), names.size());
    for (int i = 0; i < kTheses; ++i) {
      EXPECT_EQ((*totals)[i].thesis(), names[i]);
      EXPECT_EQ(Show(FromProto((*totals)[i].metrics())), Show(engine.Total(ThesisId(i))))
          << "all-time counts of " << names[i] << " (stored vs. acknowledged)";

      absl::StatusOr<v1::GetDownloadStatsResponse> stats = ReadWithRetry(
          [&] { return c->GetDownloadStats(names[i], first_day, last_day, v1::DAILY); });
      ASSERT_TRUE(stats.ok()) << stats.status();
      EXPECT_EQ(Show(FromProto(stats->metrics())), Show(engine.Total(ThesisId(i))))
          << "counts of " << names[i] << " from " << first_day << " to " << last_day;
      std::map<std::string, counter::Counts> series;
      for (const v1::DownloadStatsPoint& p : stats->series()) {
        series[p.period()] = FromProto(p.metrics());
      }
      for (absl::CivilDay day : days) {
        const std::string period = absl::FormatCivilTime(day);
        EXPECT_EQ(Show(series[period]), Show(engine.OnDay(ThesisId(i), day)))
            << "counts of " << names[i] << " on " << period;
      }
    }
  }

  // The raw events: each acknowledged event stored once, retries and
  // re-sends never, with the outcome the reference gives it.
  absl::StatusOr<std::string> rows = storage::ExecSql(url_, "SELECT count(*) FROM download_events");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, std::to_string(expected_stored.size())) << "rows in download_events";
  absl::StatusOr<std::string> doubled = storage::ExecSql(
      url_,
      "SELECT count(*) FROM (SELECT request_id FROM download_events GROUP BY request_id "
      "HAVING count(*) > 1) d");
  ASSERT_TRUE(doubled.ok()) << doubled.status();
  EXPECT_EQ(*doubled, "0") << "request ids stored more than once";
  absl::StatusOr<std::string> request_log =
      storage::ExecSql(url_, "SELECT count(*) FROM download_requests");
  ASSERT_TRUE(request_log.ok()) << request_log.status();
  EXPECT_EQ(*request_log, std::to_string(expected_stored.size())) << "rows in download_requests";
  absl::StatusOr<std::string> stored =
      storage::ExecSql(url_,
                       "SELECT string_agg(request_id || '=' || outcome, ',' ORDER BY request_id) "
                       "FROM download_events");
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::map<std::string, int> actual;
  for (absl::string_view item : absl::StrSplit(*stored, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, '=');
    int code = 0;
    EXPECT_TRUE(absl::SimpleAtoi(kv.second, &code)) << item;
    actual[kv.first] = code;
  }
  int differences = 0;
  for (const auto& [id, code] : expected_stored) {
    auto it = actual.find(id);
    if (it == actual.end()) {
      if (++differences <= 10) ADD_FAILURE() << "acknowledged event " << id << " is not stored";
    } else if (it->second != code && ++differences <= 10) {
      ADD_FAILURE() << "event " << id << " stored with outcome " << it->second << ", want " << code;
    }
  }
  for (const auto& [id, code] : actual) {
    if (!expected_stored.count(id) && ++differences <= 10) {
      ADD_FAILURE() << "stored event " << id << " (outcome " << code
                    << ") was never acknowledged as a first recording";
    }
  }
  EXPECT_EQ(differences, 0);
  std::map<int, int> mix;
  for (const auto& [id, code] : expected_stored) ++mix[code];
  std::cout << "checked " << expected_stored.size() << " stored events (";
  for (const auto& [code, n] : mix) {
    std::cout << v1::DownloadOutcome_Name(static_cast<v1::DownloadOutcome>(code)) << " " << n
              << (code == mix.rbegin()->first ? "" : ", ");
  }
  std::cout << "), " << kTheses << " theses on " << days.size() << " day(s); test took "
            << absl::FormatDuration(absl::Now() - test_start) << "\n";
}

}  // namespace
}  // namespace thesis
