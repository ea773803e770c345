// The server's own behaviour, independent of the database: the bounded
// queue, deadlines, cancellation, health, and SIGTERM on the real binary.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "server/storage/memory_backend.h"
#include "tests/support/in_process_server.h"
#include "tests/support/subprocess.h"

namespace thesis {
namespace {

using grpc::health::v1::HealthCheckResponse;
using thesis::v1::Thesis;

// Storage whose Get blocks until released: makes workers busy on demand.
// Everything else is the in-memory store.
class GatedBackend : public storage::Backend {
 public:
  struct Gate {
    absl::Notification release;
    std::atomic<int> gets_started{0};
    std::atomic<int> cancels{0};
  };

  explicit GatedBackend(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}

  std::unique_ptr<storage::Session> NewSession() override {
    return std::make_unique<GatedSession>(memory_.NewSession(), gate_);
  }

 private:
  class GatedRepository : public storage::ThesisRepository {
   public:
    GatedRepository(storage::ThesisRepository& inner, std::shared_ptr<Gate> gate)
        : inner_(inner), gate_(std::move(gate)) {}
    absl::StatusOr<Thesis> Create(const storage::CallContext& c, const Thesis& t,
                                  const std::optional<storage::Idempotency>& i) override {
      return inner_.Create(c, t, i);
    }
    absl::StatusOr<Thesis> Get(const storage::CallContext& c, const std::string& id) override {
      ++gate_->gets_started;
      // Like a statement that runs until cancelled or released.
      while (!gate_->release.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
        if (cancelled_.exchange(false)) return absl::CancelledError("cancelled");
      }
      return inner_.Get(c, id);
    }
    absl::StatusOr<std::vector<Thesis>> BatchGet(const storage::CallContext& c,
                                                 const std::vector<std::string>& ids) override {
      return inner_.BatchGet(c, ids);
    }
    absl::StatusOr<Thesis> Update(const storage::CallContext& c, const std::string& id,
                                  const std::string& etag, const storage::ThesisMutator& m,
                                  const std::optional<storage::Idempotency>& i) override {
      return inner_.Update(c, id, etag, m, i);
    }
    absl::Status Delete(const storage::CallContext& c, const std::string& id,
                        const std::string& etag,
                        const std::optional<storage::Idempotency>& i) override {
      return inner_.Delete(c, id, etag, i);
    }
    absl::StatusOr<storage::ListPage> List(const storage::CallContext& c,
                                           const domain::ListQuery& q) override {
      return inner_.List(c, q);
    }
    absl::StatusOr<storage::SearchPage> Search(const storage::CallContext& c,
                                               const storage::SearchQuery& q) override {
      return inner_.Search(c, q);
    }
    absl::StatusOr<std::vector<storage::ImportOutcome>> Import(
        const storage::CallContext& c, const std::vector<storage::ImportItem>& items) override {
      return inner_.Import(c, items);
    }
    std::atomic<bool> cancelled_{false};

   private:
    storage::ThesisRepository& inner_;
    std::shared_ptr<Gate> gate_;
  };

  class GatedSession : public storage::Session {
   public:
    GatedSession(std::unique_ptr<storage::Session> inner, std::shared_ptr<Gate> gate)
        : inner_(std::move(inner)), gate_(gate), repo_(inner_->theses(), gate) {}
    storage::ThesisRepository& theses() override { return repo_; }
    storage::DownloadRepository& downloads() override { return inner_->downloads(); }
    storage::ClassRepository& classes() override { return inner_->classes(); }
    absl::Status CheckReady(int v) override { return inner_->CheckReady(v); }
    void CancelCurrentStatement() override {
      ++gate_->cancels;
      repo_.cancelled_ = true;
    }

   private:
    std::unique_ptr<storage::Session> inner_;
    std::shared_ptr<Gate> gate_;
    GatedRepository repo_;
  };

  storage::MemoryBackend memory_;
  std::shared_ptr<Gate> gate_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gate_ = std::make_shared<GatedBackend::Gate>();
    ServerConfig config;
    config.workers = 1;
    config.queue_capacity = 1;
    auto server = testing::InProcessServer::Start(std::make_unique<GatedBackend>(gate_), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (gate_ && !gate_->release.HasBeenNotified()) gate_->release.Notify();
  }

  // A Get with its own deadline, run on another thread.
  std::thread GetInBackground(absl::Duration timeout, grpc::StatusCode* code,
                              grpc::ClientContext* context = nullptr) {
    return std::thread([this, timeout, code, context] {
      auto stub = thesis::v1::ThesisService::NewStub(server_->channel());
      grpc::ClientContext own;
      grpc::ClientContext* ctx = context != nullptr ? context : &own;
      ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
      thesis::v1::GetThesisRequest request;
      request.set_name("theses/any");
      Thesis response;
      *code = stub->GetThesis(ctx, request, &response).error_code();
    });
  }

  void WaitForGets(int n) {
    for (int i = 0; i < 500 && gate_->gets_started < n; ++i) absl::SleepFor(absl::Milliseconds(10));
    ASSERT_GE(gate_->gets_started, n);
  }

  std::shared_ptr<GatedBackend::Gate> gate_;
  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_F(ServerTest, FullQueueAnswersResourceExhaustedAtOnce) {
  grpc::StatusCode running = grpc::StatusCode::UNKNOWN, queued = grpc::StatusCode::UNKNOWN;
  std::thread a = GetInBackground(absl::Seconds(20), &running);
  WaitForGets(1);  // the only worker is busy
  std::thread b = GetInBackground(absl::Seconds(20), &queued);
  absl::SleepFor(absl::Milliseconds(200));  // b fills the queue of one

  const absl::Time start = absl::Now();
  absl::StatusOr<Thesis> rejected = server_->client().GetThesis("theses/x");
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(client::ErrorReason(rejected.status()), "SERVER_OVERLOADED");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "rejected at once, not after waiting";

  gate_->release.Notify();
  a.join();
  b.join();
  EXPECT_EQ(running, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(queued, grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, CallWhoseDeadlinePassedInTheQueueNeverReachesStorage) {
  grpc::StatusCode running, expired;
  std::thread a = GetInBackground(absl::Seconds(20), &running);
  WaitForGets(1);
  std::thread b = GetInBackground(absl::Milliseconds(500), &expired);
  b.join();
  EXPECT_EQ(expired, grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server counts the deadline from when it read the call; on a loaded
  // machine that can be late, so keep the worker busy well past it.
  absl::SleepFor(absl::Seconds(1.5));
  gate_->release.Notify();
  a.join();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(gate_->gets_started, 1) << "the expired call must be dropped, not run";
}

TEST_F(ServerTest, CancellingACallCancelsItsRunningStatement) {
  grpc::StatusCode code;
  grpc::ClientContext context;
  std::thread a = GetInBackground(absl::Seconds(20), &code, &context);
  WaitForGets(1);
  context.TryCancel();
  a.join();
  EXPECT_EQ(code, grpc::StatusCode::CANCELLED);
  for (int i = 0; i < 200 && gate_->cancels == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(gate_->cancels, 1);
  // The worker is free again.
  gate_->release.Notify();
  EXPECT_EQ(server_->client().GetThesis("theses/x").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ServerTest, LivenessAndReadinessAreRegistered) {
  EXPECT_TRUE(
      server_->WaitForHealth(kLivenessService, HealthCheckResponse::SERVING, absl::Seconds(5)));
  EXPECT_TRUE(
      server_->WaitForHealth(kReadinessService, HealthCheckResponse::SERVING, absl::Seconds(5)));
  server_->server().StopBeingReady();
  EXPECT_EQ(server_->Health(kReadinessService), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(server_->Health(kLivenessService), HealthCheckResponse::SERVING);
}

TEST(ServerBinaryTest, SigtermDrainsAsNotServingThenExitsZero) {
  testing::Subprocess server({THESIS_SERVER_BINARY, "--storage=memory", "--listen=127.0.0.1:0",
                              "--drain_s=2", "--shutdown_grace_s=2"});
  ASSERT_TRUE(server.started());
  std::string line;
  ASSERT_TRUE(server.ReadLine(&line));
  ASSERT_EQ(line.rfind("listening on port ", 0), 0u) << line;
  const std::string address = "127.0.0.1:" + line.substr(18);

  client::ClientOptions options;
  options.target = address;
  // A client that does not watch readiness (one that does stops sending
  // here at once: tests/integration/failover_test.cc).
  options.health_check_service = "";
  auto channel = client::CreateChannel(options);
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto check = [&](const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    return status.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  };
  for (int i = 0; i < 50 && check(kReadinessService) != HealthCheckResponse::SERVING; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(check(kReadinessService), HealthCheckResponse::SERVING);

  server.Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(check(kReadinessService), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(check(kLivenessService), HealthCheckResponse::SERVING);
  // Calls are still served while draining.
  client::ThesisClient client(channel, options);
  EXPECT_EQ(client.GetThesis("theses/x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server.Wait(), 0);
}

}  // namespace
}  // namespace thesis
