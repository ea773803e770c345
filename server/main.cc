// thesis-server: wiring only. Reads configuration (flags, each with an
// environment-variable fallback), then either applies migrations or serves
// until SIGTERM/SIGINT.
//
//   thesis-server [serve] [--flags]   serve the API
//   thesis-server migrate             apply migrations/*.up.sql and exit
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/common/log.h"
#include "server/common/metrics.h"
#include "server/domain/search_text.h"
#include "server/server.h"
#include "server/storage/memory_backend.h"
#include "server/storage/migrations.h"
#include "server/storage/pg_backend.h"

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}
int EnvOr(const char* name, int fallback) {
  int value;
  return absl::SimpleAtoi(EnvOr(name, ""), &value) ? value : fallback;
}
bool EnvOr(const char* name, bool fallback) {
  const std::string value = EnvOr(name, "");
  if (value.empty()) return fallback;
  return value == "1" || value == "true" || value == "yes";
}

}  // namespace

ABSL_FLAG(std::string, listen, EnvOr("THESIS_LISTEN", "[::]:50051"),
          "Address to serve on, host:port (port 0: any free port). Env THESIS_LISTEN.");
ABSL_FLAG(std::string, database_url, EnvOr("THESIS_DATABASE_URL", ""),
          "PostgreSQL connection URL. Env THESIS_DATABASE_URL.");
ABSL_FLAG(std::string, storage, EnvOr("THESIS_STORAGE", "postgres"),
          "postgres or memory (memory keeps nothing; for trials). Env THESIS_STORAGE.");
ABSL_FLAG(int, workers, EnvOr("THESIS_WORKERS", 16),
          "Database worker threads, one connection each. Env THESIS_WORKERS.");
ABSL_FLAG(int, queue_capacity, EnvOr("THESIS_QUEUE_CAPACITY", 1024),
          "Calls that may wait for a worker before RESOURCE_EXHAUSTED. Env THESIS_QUEUE_CAPACITY.");
ABSL_FLAG(bool, reflection, EnvOr("THESIS_REFLECTION", false),
          "Serve gRPC server reflection. Env THESIS_REFLECTION.");
ABSL_FLAG(std::string, page_token_secret, EnvOr("THESIS_PAGE_TOKEN_SECRET", ""),
          "Secret for page tokens; every replica needs the same one. Random when empty. Env "
          "THESIS_PAGE_TOKEN_SECRET.");
ABSL_FLAG(int, statement_timeout_ms, EnvOr("THESIS_STATEMENT_TIMEOUT_MS", 30000),
          "statement_timeout for calls without a deadline. Env THESIS_STATEMENT_TIMEOUT_MS.");
ABSL_FLAG(int, max_connection_age_s, EnvOr("THESIS_MAX_CONNECTION_AGE_S", 300),
          "Close client connections after this many seconds, so that load spreads over new "
          "replicas. Env THESIS_MAX_CONNECTION_AGE_S.");
ABSL_FLAG(int, drain_s, EnvOr("THESIS_DRAIN_S", 5),
          "On SIGTERM: seconds to keep serving while NOT_SERVING. Env THESIS_DRAIN_S.");
ABSL_FLAG(int, shutdown_grace_s, EnvOr("THESIS_SHUTDOWN_GRACE_S", 15),
          "On SIGTERM: seconds in-flight calls get to finish. Env THESIS_SHUTDOWN_GRACE_S.");
ABSL_FLAG(std::string, robots_file, EnvOr("THESIS_ROBOTS_FILE", ""),
          "COUNTER_Robots_list.json to add to the built-in robot patterns; re-read when it "
          "changes. Env THESIS_ROBOTS_FILE.");
ABSL_FLAG(int, download_queue_events, EnvOr("THESIS_DOWNLOAD_QUEUE_EVENTS", 200000),
          "Download events that may wait for a group commit before RESOURCE_EXHAUSTED. Env "
          "THESIS_DOWNLOAD_QUEUE_EVENTS.");
ABSL_FLAG(std::string, metrics_listen, EnvOr("THESIS_METRICS_LISTEN", ""),
          "Address of the Prometheus /metrics HTTP endpoint, host:port, e.g. [::]:9464; empty: "
          "none. Env "
          "THESIS_METRICS_LISTEN.");
ABSL_FLAG(std::string, api_keys_file, EnvOr("THESIS_API_KEYS_FILE", ""),
          "API keys with roles (name role sha256:HEX [calls/s] per line), re-read when it "
          "changes; empty: no access control (development only). Env THESIS_API_KEYS_FILE.");
ABSL_FLAG(std::string, tls_cert, EnvOr("THESIS_TLS_CERT", ""),
          "Server certificate chain (PEM); with --tls_key turns TLS on. Env THESIS_TLS_CERT.");
ABSL_FLAG(std::string, tls_key, EnvOr("THESIS_TLS_KEY", ""),
          "Server private key (PEM). Env THESIS_TLS_KEY.");
ABSL_FLAG(std::string, tls_client_ca, EnvOr("THESIS_TLS_CLIENT_CA", ""),
          "CA (PEM) that signs client certificates; when set, clients must present one "
          "(mutual TLS). Env THESIS_TLS_CLIENT_CA.");
ABSL_FLAG(int, max_message_bytes, EnvOr("THESIS_MAX_MESSAGE_BYTES", 16 << 20),
          "Largest request or response message. Env THESIS_MAX_MESSAGE_BYTES.");
ABSL_FLAG(int, max_concurrent_streams, EnvOr("THESIS_MAX_CONCURRENT_STREAMS", 100),
          "Concurrent calls per client connection. Env THESIS_MAX_CONCURRENT_STREAMS.");
ABSL_FLAG(bool, log_rpcs, EnvOr("THESIS_LOG_RPCS", true),
          "Write one JSON log line per RPC. Env THESIS_LOG_RPCS.");
ABSL_FLAG(int, readiness_interval_ms, EnvOr("THESIS_READINESS_INTERVAL_MS", 1000),
          "How often readiness checks the database. Env THESIS_READINESS_INTERVAL_MS.");

namespace {

int RunMigrate() {
  const std::string url = absl::GetFlag(FLAGS_database_url);
  if (url.empty()) {
    std::cerr << "migrate: --database_url (or THESIS_DATABASE_URL) is required\n";
    return 2;
  }
  absl::StatusOr<thesis::storage::MigrationReport> report =
      thesis::storage::Migrate(url, thesis::storage::EmbeddedMigrations());
  if (!report.ok()) {
    std::cerr << "migrate: " << report.status().message() << "\n";
    return 1;
  }
  std::cout << "migrate: applied " << report->applied.size() << " migration(s); schema version "
            << report->schema_version << "\n";
  return 0;
}

int RunServe() {
  std::unique_ptr<thesis::storage::Backend> backend;
  const std::string storage = absl::GetFlag(FLAGS_storage);
  if (storage == "memory") {
    backend = std::make_unique<thesis::storage::MemoryBackend>();
  } else if (storage == "postgres") {
    thesis::storage::PgOptions options;
    options.database_url = absl::GetFlag(FLAGS_database_url);
    if (options.database_url.empty()) {
      std::cerr << "serve: --database_url (or THESIS_DATABASE_URL) is required\n";
      return 2;
    }
    options.default_statement_timeout =
        absl::Milliseconds(absl::GetFlag(FLAGS_statement_timeout_ms));
    backend = std::make_unique<thesis::storage::PgBackend>(std::move(options));
  } else {
    std::cerr << "serve: --storage must be postgres or memory\n";
    return 2;
  }

  thesis::ServerConfig config;
  config.listen_address = absl::GetFlag(FLAGS_listen);
  config.workers = absl::GetFlag(FLAGS_workers);
  config.queue_capacity = absl::GetFlag(FLAGS_queue_capacity);
  config.reflection = absl::GetFlag(FLAGS_reflection);
  config.page_token_secret = absl::GetFlag(FLAGS_page_token_secret);
  config.robots_file = absl::GetFlag(FLAGS_robots_file);
  config.download_queue_events = absl::GetFlag(FLAGS_download_queue_events);
  config.max_connection_age = absl::Seconds(absl::GetFlag(FLAGS_max_connection_age_s));
  config.readiness_interval = absl::Milliseconds(absl::GetFlag(FLAGS_readiness_interval_ms));
  config.required_schema_version = thesis::storage::RequiredSchemaVersion();
  config.log_rpcs = absl::GetFlag(FLAGS_log_rpcs);
  config.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  config.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  config.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  config.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  config.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  config.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  auto metrics = std::make_shared<thesis::Metrics>();
  config.observer = metrics;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_listen); !address.empty()) {
    absl::StatusOr<int> port = metrics->Serve(address);
    if (!port.ok()) {
      std::cerr << "serve: " << port.status().message() << "\n";
      return 1;
    }
    std::cout << "metrics on port " << *port << std::endl;
    thesis::LogInfo("metrics", {{"address", address}, {"port", *port}});
  }
  if (config.page_token_secret.empty()) {
    thesis::LogWarning("no page token secret configured: page tokens work only on this replica");
  }

  // Block the shutdown signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<thesis::ThesisServer>> server =
      thesis::ThesisServer::Start(config, std::move(backend));
  if (!server.ok()) {
    std::cerr << "serve: " << server.status().message() << "\n";
    return 1;
  }
  // Tests and scripts read this line to learn the port.
  std::cout << "listening on port " << (*server)->port() << std::endl;
  thesis::LogInfo(absl::StrCat("serving on ", config.listen_address, " (port ", (*server)->port(),
                               "), storage ", storage));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  thesis::LogInfo(absl::StrCat("signal ", signal_number, ": draining"));
  (*server)->StopBeingReady();
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_drain_s)));
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
  thesis::LogInfo("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesis-server [serve|migrate] [--flags]\n"
      "  serve    serve the thesis metadata API (default)\n"
      "  migrate  apply database migrations and exit");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  // Debian builds Abseil with mutex deadlock detection on, which keeps a
  // lock graph on every acquisition (1-2 % of a GetThesis in profiles).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // libpq gives up on an unreachable database after this many seconds.
  setenv("PGCONNECT_TIMEOUT", "3", /*overwrite=*/0);
  const std::string command = args.size() > 1 ? args[1] : "serve";
  if (args.size() > 2) {
    std::cerr << "unexpected argument: " << args[2] << "\n";
    return 2;
  }
  // The search analyzer's tables (OpenCC's t2s.json, the Snowball stemmer)
  // are needed by both commands: fail now, plainly, when they are missing.
  if (absl::Status search = thesis::domain::search::InitSearchText(); !search.ok()) {
    std::cerr << "search text analysis is unavailable: " << search.message() << "\n";
    return 1;
  }
  if (command == "migrate") return RunMigrate();
  if (command == "serve") return RunServe();
  std::cerr << "unknown command: " << command << " (use serve or migrate)\n";
  return 2;
}
