// PostgreSQL goes away and comes back while the server runs: readiness
// follows it, calls fail UNAVAILABLE meanwhile, and the server recovers
// without a restart. The test runs its own private cluster, so that
// stopping it disturbs nobody.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "server/storage/migrations.h"
#include "server/storage/pg_backend.h"
#include "tests/support/in_process_server.h"

namespace thesis {
namespace {

using grpc::health::v1::HealthCheckResponse;

// Runs scripts/pg-private.sh; returns its stdout (the URL for start).
std::string PgScript(const std::string& command, const std::string& dir) {
  std::string cmd = "bash " THESIS_PG_SCRIPT " " + command + " '" + dir + "' thesis_test_outage";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  const int rc = pclose(pipe);
  return rc == 0 ? std::string(absl::StripAsciiWhitespace(out)) : "";
}

class PgOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/lib/postgresql/15/bin/initdb")) {
      GTEST_SKIP() << "PostgreSQL 15 server binaries not installed: outage test skipped";
    }
    char dir_template[] = "/tmp/thesis-outage-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    url_ = PgScript("start", dir_);
    ASSERT_FALSE(url_.empty()) << "could not start a private PostgreSQL in " << dir_;
    ASSERT_TRUE(storage::Migrate(url_, storage::EmbeddedMigrations()).ok());
  }
  void TearDown() override {
    if (dir_.empty()) return;
    PgScript("stop", dir_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string dir_;
  std::string url_;
};

TEST_F(PgOutageTest, ReadinessAndCallsFollowTheDatabaseAndRecoverWithoutRestart) {
  storage::PgOptions options;
  options.database_url = url_;
  ServerConfig config;
  config.workers = 2;
  config.required_schema_version = storage::RequiredSchemaVersion();
  auto server =
      testing::InProcessServer::Start(std::make_unique<storage::PgBackend>(options), config);
  ASSERT_TRUE(server.ok()) << server.status();
  testing::InProcessServer& s = **server;
  ASSERT_TRUE(s.WaitForHealth(kReadinessService, HealthCheckResponse::SERVING, absl::Seconds(10)));
  thesis::v1::Thesis t;
  t.set_title_zh("断线重连");
  t.add_authors("作者");
  ASSERT_TRUE(s.client().CreateThesis(t, "outage").ok());
  // Both workers have a live connection now.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.client().GetThesis("theses/outage").ok());

  ASSERT_EQ(PgScript("stop", dir_), "");
  EXPECT_TRUE(
      s.WaitForHealth(kReadinessService, HealthCheckResponse::NOT_SERVING, absl::Seconds(15)));
  EXPECT_EQ(s.Health(kLivenessService), HealthCheckResponse::SERVING);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<thesis::v1::Thesis> got = s.client().GetThesis("theses/outage");
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_EQ(std::string(got.status().message()).find("SELECT"), std::string::npos)
        << "SQL must not reach the client";
  }
  EXPECT_EQ(s.client().CreateThesis(t).status().code(), absl::StatusCode::kUnavailable);

  ASSERT_EQ(PgScript("start", dir_), url_) << "the cluster came back on another port";
  EXPECT_TRUE(s.WaitForHealth(kReadinessService, HealthCheckResponse::SERVING, absl::Seconds(15)));
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<thesis::v1::Thesis> got = s.client().GetThesis("theses/outage");
    EXPECT_TRUE(got.ok()) << got.status();
  }
  EXPECT_TRUE(s.client().CreateThesis(t).ok());
}

}  // namespace
}  // namespace thesis
