// Failover of the real thesis-server binary under a steady load of reads.
// Two replicas (in-memory storage, so no database is needed) serve a client
// that spreads its calls over both with client-side round robin and retries
// UNAVAILABLE, as the client library sets it up. Then one replica goes away:
//
//  - SIGTERM, as in a rolling update: it keeps serving while it drains, then
//    closes its listener and exits 0 within the drain deadline;
//  - SIGKILL, as in a crash.
//
// Either way no read of the client may fail.
//
// Memory storage is per process, so the same records (same ids) are created
// on each replica before the load; reads by name then give the same answer
// on either. One record, theses/failover-who, differs: its title names the
// replica, so that reads of it tell which replica served them.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/server.h"
#include "tests/support/server_process.h"
#include "thesis/client/thesis_client.h"

namespace thesis {
namespace {

namespace v1 = thesis::v1;
using grpc::health::v1::HealthCheckResponse;

constexpr char kPageTokenSecret[] = "failover-test-secret";
constexpr char kInstitution[] = "Failover Test University";
constexpr char kWhoName[] = "theses/failover-who";
constexpr int kRecords = 12;
constexpr int kListPageSize = 5;  // a listing takes 3 pages
constexpr int kLoadThreads = 8;
constexpr int kDrainSeconds = 1;
constexpr int kShutdownGraceSeconds = 5;

constexpr absl::Duration kLoadBeforeFault = absl::Milliseconds(1500);
constexpr absl::Duration kLoadAfterFault = absl::Seconds(2);
// Exit is due drain_s + at most shutdown_grace_s after SIGTERM.
constexpr absl::Duration kExitMargin = absl::Seconds(3);

std::string RecordId(int i) { return absl::StrCat("failover-", i < 10 ? "0" : "", i); }
std::string RecordName(int i) { return "theses/" + RecordId(i); }
std::string RecordTitle(int i) { return absl::StrCat("Failover thesis ", i); }
std::string ReplicaTitle(int replica) { return absl::StrCat("replica-", replica); }

// ---- Processes --------------------------------------------------------------

// A directory under TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "failover_test.XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One thesis-server process on a free port with in-memory storage, its
// stderr (the JSON log) in `log`.
using Replica = testing::ServerProcess;

absl::StatusOr<Replica> StartReplica(const std::string& log) {
  return testing::StartServer(
      THESIS_SERVER_BINARY,
      {"serve", "--storage=memory", "--listen=127.0.0.1:0",
       "--metrics_listen=", absl::StrCat("--page_token_secret=", kPageTokenSecret), "--workers=4",
       absl::StrCat("--drain_s=", kDrainSeconds),
       absl::StrCat("--shutdown_grace_s=", kShutdownGraceSeconds), "--readiness_interval_ms=200"},
      log);
}

// Whether `pid` (a child) has exited within `timeout`. The child stays
// waitable (WNOWAIT), so that Subprocess::Wait still reaps it.
bool WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      return true;
    }
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

// The same records on every replica; theses/failover-who names its replica.
absl::Status Seed(const std::string& address, int replica) {
  client::ClientOptions options;
  options.target = address;
  client::ThesisClient direct(options);
  for (int i = 0; i < kRecords; ++i) {
    v1::Thesis t;
    t.set_title_en(RecordTitle(i));
    t.add_authors(absl::StrCat("Author ", i));
    t.set_institution(kInstitution);
    t.set_degree_level(v1::DEGREE_LEVEL_MASTER);
    t.set_degree_year(2000 + i);
    absl::StatusOr<v1::Thesis> created = direct.CreateThesis(t, RecordId(i));
    if (!created.ok()) return created.status();
  }
  v1::Thesis who;
  who.set_title_en(ReplicaTitle(replica));
  who.add_authors("Nobody");
  who.set_institution("Failover Replicas");
  absl::StatusOr<v1::Thesis> created =
      direct.CreateThesis(who, std::string(kWhoName).substr(sizeof("theses/") - 1));
  return created.status();
}

// ---- The load ---------------------------------------------------------------

// What the load saw; threads keep their own and merge at the end.
struct LoadReport {
  int64_t calls = 0;
  int64_t failures = 0;
  std::map<std::string, int64_t> failure_codes;
  std::vector<std::string> failure_samples;
  // Completion times of calls that said which replica served them.
  std::vector<absl::Time> served[2];
  absl::Duration max_latency = absl::ZeroDuration();
  int64_t slow_calls = 0;  // over 1 s

  void Merge(const LoadReport& other) {
    calls += other.calls;
    failures += other.failures;
    for (const auto& [code, n] : other.failure_codes) failure_codes[code] += n;
    for (const std::string& s : other.failure_samples) {
      if (failure_samples.size() < 10) failure_samples.push_back(s);
    }
    for (int r = 0; r < 2; ++r) {
      served[r].insert(served[r].end(), other.served[r].begin(), other.served[r].end());
    }
    max_latency = std::max(max_latency, other.max_latency);
    slow_calls += other.slow_calls;
  }
  int64_t ServedBetween(int replica, absl::Time from, absl::Time to) const {
    return std::count_if(served[replica].begin(), served[replica].end(),
                         [&](absl::Time t) { return t > from && t < to; });
  }
  std::string Failures() const {
    std::vector<std::string> codes;
    for (const auto& [code, n] : failure_codes) codes.push_back(absl::StrCat(code, ": ", n));
    return absl::StrCat(failures, " failed of ", calls, " calls (", absl::StrJoin(codes, ", "),
                        "); first ones:\n  ", absl::StrJoin(failure_samples, "\n  "));
  }
};

// Threads reading in a closed loop through one round-robin client until
// stopped: GetThesis, BatchGetTheses, and ListTheses through all its pages.
// Every call must succeed with the expected content.
class Load {
 public:
  explicit Load(std::shared_ptr<client::ThesisClient> client) : client_(std::move(client)) {
    for (int i = 0; i < kLoadThreads; ++i) {
      threads_.emplace_back([this, i] { Run(i); });
    }
  }
  ~Load() { Stop(); }

  // Stops the threads (each finishes its call) and merges their reports.
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int64_t ServedBy(int replica) const { return served_[replica]; }
  // After Stop.
  LoadReport Report() const {
    LoadReport all;
    for (const LoadReport& r : reports_) all.Merge(r);
    return all;
  }

 private:
  void Run(int index) {
    LoadReport& report = reports_[index];
    for (int step = index; !stop_; ++step) {
      const int record = step % kRecords;
      switch (step % 4) {
        case 0: {
          const absl::Time start = absl::Now();
          absl::StatusOr<v1::Thesis> t = client_->GetThesis(RecordName(record));
          Done(&report, start, "GetThesis", t.status(), [&] {
            return t->title_en() == RecordTitle(record) ? "" : "wrong record: " + t->name();
          });
          break;
        }
        case 1: {
          const absl::Time start = absl::Now();
          absl::StatusOr<v1::Thesis> t = client_->GetThesis(kWhoName);
          Done(&report, start, "GetThesis(who)", t.status(),
               [&] { return Served(&report, t->title_en()); });
          break;
        }
        case 2: {
          const std::vector<std::string> names = {RecordName(record),
                                                  RecordName((record + 5) % kRecords), kWhoName};
          const absl::Time start = absl::Now();
          absl::StatusOr<std::vector<v1::Thesis>> ts = client_->BatchGetTheses(names);
          Done(&report, start, "BatchGetTheses", ts.status(), [&]() -> std::string {
            if (ts->size() != names.size()) return absl::StrCat(ts->size(), " records");
            for (size_t i = 0; i < names.size(); ++i) {
              if ((*ts)[i].name() != names[i]) return "wrong record: " + (*ts)[i].name();
            }
            return Served(&report, ts->back().title_en());
          });
          break;
        }
        default:
          ListAll(&report);
          break;
      }
    }
  }

  // Every page; the pages may come from different replicas.
  void ListAll(LoadReport* report) {
    v1::ListThesesRequest request;
    request.set_filter(absl::StrCat("institution = \"", kInstitution, "\""));
    request.set_order_by("degree_year");
    request.set_page_size(kListPageSize);
    std::vector<std::string> names;
    for (int page = 0; page < 10; ++page) {
      const absl::Time start = absl::Now();
      absl::StatusOr<v1::ListThesesResponse> response = client_->ListTheses(request);
      if (!Done(report, start, "ListTheses", response.status(), [] { return ""; })) return;
      for (const v1::Thesis& t : response->theses()) names.push_back(t.name());
      if (response->next_page_token().empty()) break;
      request.set_page_token(response->next_page_token());
    }
    std::vector<std::string> expected;
    for (int i = 0; i < kRecords; ++i) expected.push_back(RecordName(i));
    if (names != expected) {
      Fail(report, "ListTheses", "CONTENT", "listed " + absl::StrJoin(names, ","));
    }
  }

  // The replica named by a theses/failover-who title; "" or a complaint.
  std::string Served(LoadReport* report, const std::string& title) {
    for (int r = 0; r < 2; ++r) {
      if (title == ReplicaTitle(r)) {
        report->served[r].push_back(absl::Now());
        ++served_[r];
        return "";
      }
    }
    return "unknown replica " + title;
  }

  // Counts a finished call; `check` (called only for OK) returns "" or what
  // is wrong with the answer. False when the call failed.
  template <typename Check>
  bool Done(LoadReport* report, absl::Time start, const char* method, const absl::Status& status,
            Check check) {
    const absl::Duration latency = absl::Now() - start;
    ++report->calls;
    report->max_latency = std::max(report->max_latency, latency);
    if (latency > absl::Seconds(1)) ++report->slow_calls;
    if (!status.ok()) {
      Fail(report, method, absl::StatusCodeToString(status.code()),
           absl::StrCat(status.message(), " after ", absl::FormatDuration(latency)));
      return false;
    }
    const std::string wrong = check();
    if (!wrong.empty()) {
      Fail(report, method, "CONTENT", wrong);
      return false;
    }
    return true;
  }

  void Fail(LoadReport* report, const char* method, const std::string& code,
            const std::string& detail) {
    ++report->failures;
    ++report->failure_codes[code];
    if (report->failure_samples.size() < 10) {
      report->failure_samples.push_back(
          absl::StrCat(absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()), " ",
                       method, " ", code, ": ", detail));
    }
  }

  std::shared_ptr<client::ThesisClient> client_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> served_[2] = {0, 0};
  std::array<LoadReport, kLoadThreads> reports_;
  std::vector<std::thread> threads_;
};

// ---- The tests --------------------------------------------------------------

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "cannot make a temporary directory";
    for (int r = 0; r < 2; ++r) {
      absl::StatusOr<Replica> replica =
          StartReplica(absl::StrCat(dir_.path(), "/replica-", r, ".log"));
      ASSERT_TRUE(replica.ok()) << replica.status();
      replicas_[r] = std::move(*replica);
      absl::Status seeded = Seed(replicas_[r].address, r);
      ASSERT_TRUE(seeded.ok()) << "seeding replica " << r << ": " << seeded;
    }
  }

  void TearDown() override {
    if (!HasFailure()) return;
    // The server side of a failure: everything but the successful rpc lines.
    for (const Replica& r : replicas_) {
      std::ifstream in(r.log);
      std::string line, shown;
      int lines = 0;
      while (std::getline(in, line)) {
        if (absl::StrContains(line, "\"msg\":\"rpc\"") &&
            absl::StrContains(line, "\"code\":\"OK\"")) {
          continue;
        }
        if (++lines <= 60) absl::StrAppend(&shown, line, "\n");
      }
      std::cerr << "---- " << r.address << " log (" << lines << " lines besides OK rpcs) ----\n"
                << shown;
    }
  }

  // A client as a consumer would make it: round robin over both replicas,
  // the library's retry policy for UNAVAILABLE.
  std::shared_ptr<client::ThesisClient> RoundRobinClient() {
    client::ClientOptions options;
    options.target = absl::StrCat("ipv4:", replicas_[0].address, ",", replicas_[1].address);
    options.default_timeout = absl::Seconds(5);
    return std::make_shared<client::ThesisClient>(options);
  }

  // Waits until the load has been served by both replicas.
  void ExpectBothReplicasServe(const Load& load) {
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while ((load.ServedBy(0) == 0 || load.ServedBy(1) == 0) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_GT(load.ServedBy(0), 0) << "replica 0 served nothing: no round robin?";
    EXPECT_GT(load.ServedBy(1), 0) << "replica 1 served nothing: no round robin?";
  }

  TempDir dir_;
  Replica replicas_[2];
};

TEST_F(FailoverTest, SigtermOfAReplicaUnderLoadFailsNoCallAndItExitsZeroWithinTheDrainDeadline) {
  constexpr int kVictim = 1, kSurvivor = 0;
  Load load(RoundRobinClient());
  absl::SleepFor(kLoadBeforeFault);
  ExpectBothReplicasServe(load);

  const absl::Time term = absl::Now();
  replicas_[kVictim].process->Signal(SIGTERM);
  const absl::Duration deadline = absl::Seconds(kDrainSeconds + kShutdownGraceSeconds);
  const bool exited = WaitForExit(replicas_[kVictim].process->pid(), deadline + kExitMargin);
  const absl::Time exit = absl::Now();
  ASSERT_TRUE(exited) << "still running " << absl::FormatDuration(exit - term) << " after SIGTERM";
  const int exit_code = replicas_[kVictim].process->Wait();
  absl::SleepFor(kLoadAfterFault);  // the survivor serves everything now
  load.Stop();
  const LoadReport report = load.Report();

  EXPECT_EQ(exit_code, 0);
  EXPECT_GE(exit - term, absl::Seconds(kDrainSeconds)) << "exited before the drain was over";
  EXPECT_LE(exit - term, deadline + absl::Milliseconds(500))
      << "exited later than drain_s + shutdown_grace_s";
  EXPECT_EQ(report.failures, 0) << report.Failures();
  // (A response read just before the exit may be counted a little after it.)
  EXPECT_EQ(report.ServedBetween(kVictim, exit + absl::Milliseconds(500), absl::InfiniteFuture()),
            0);
  EXPECT_GT(report.ServedBetween(kSurvivor, exit, absl::InfiniteFuture()), 0);
  // Whether the victim still had calls while draining depends on the client:
  // one that watches health (NOT_SERVING) stops sending at once.
  std::cout << "SIGTERM: exit code " << exit_code << " after " << absl::FormatDuration(exit - term)
            << "; victim served "
            << report.ServedBetween(kVictim, term, term + absl::Seconds(kDrainSeconds))
            << " identified calls while draining; " << report.calls << " calls, " << report.failures
            << " failed; replica calls " << report.served[0].size() << "/"
            << report.served[1].size() << "; max latency "
            << absl::FormatDuration(report.max_latency) << ", " << report.slow_calls
            << " over 1s\n";
}

TEST_F(FailoverTest, SigkillOfAReplicaUnderLoadFailsNoIdempotentRead) {
  constexpr int kVictim = 1, kSurvivor = 0;
  Load load(RoundRobinClient());
  absl::SleepFor(kLoadBeforeFault);
  ExpectBothReplicasServe(load);

  const absl::Time kill = absl::Now();
  replicas_[kVictim].process->Signal(SIGKILL);
  EXPECT_EQ(replicas_[kVictim].process->Wait(), 128 + SIGKILL);
  absl::SleepFor(kLoadAfterFault + absl::Seconds(1));
  load.Stop();
  const LoadReport report = load.Report();

  EXPECT_EQ(report.failures, 0) << report.Failures();
  EXPECT_GT(report.ServedBetween(kSurvivor, kill, absl::InfiniteFuture()), 0);
  EXPECT_EQ(report.ServedBetween(kVictim, kill + absl::Milliseconds(500), absl::InfiniteFuture()),
            0);
  std::cout << "SIGKILL: " << report.calls << " calls, " << report.failures
            << " failed; replica calls " << report.served[0].size() << "/"
            << report.served[1].size() << "; max latency "
            << absl::FormatDuration(report.max_latency) << ", " << report.slow_calls
            << " over 1s\n";
}

}  // namespace
}  // namespace thesis
