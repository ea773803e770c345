// Builds and runs the gRPC server: services, health, reflection, keepalive
// and connection-age settings, the worker pool, and the readiness checker.
// main.cc only reads configuration and handles signals.
#ifndef THESIS_SERVER_SERVER_H_
#define THESIS_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/api/class_service.h"
#include "server/api/download_recorder.h"
#include "server/api/download_service.h"
#include "server/api/rpc_interceptor.h"
#include "server/api/thesis_service.h"
#include "server/common/auth.h"
#include "server/common/observer.h"
#include "server/common/robots_source.h"
#include "server/common/worker_pool.h"
#include "server/domain/page_token.h"
#include "server/storage/session.h"

namespace thesis {

// Health service names, for Kubernetes gRPC probes.
inline constexpr char kLivenessService[] = "liveness";
inline constexpr char kReadinessService[] = "readiness";

struct ServerConfig {
  // host:port; port 0 picks a free port (see ThesisServer::port()).
  std::string listen_address = "[::]:50051";
  int workers = 16;
  int queue_capacity = 1024;
  bool reflection = false;
  std::string page_token_secret;
  // Connections are closed (gracefully) after this age so that clients
  // re-resolve and spread over new replicas.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  absl::Duration keepalive_time = absl::Seconds(60);
  // How often readiness re-checks the database.
  absl::Duration readiness_interval = absl::Seconds(1);
  // Answers stored for request ids are kept this long (retries within it
  // are recognised), pruned every request_log_prune_interval.
  absl::Duration request_log_retention = absl::Hours(24);
  absl::Duration request_log_prune_interval = absl::Minutes(10);
  // The schema version readiness requires.
  int required_schema_version = 0;
  // COUNTER_Robots_list.json; re-read when it changes. Empty: built-in
  // robot patterns only.
  std::string robots_file;
  // Download events waiting for their group commit before RESOURCE_EXHAUSTED.
  int download_queue_events = 200000;
  // Hears RPCs, queue depth, storage errors and download batches (e.g.
  // Metrics); none when null.
  std::shared_ptr<ServerObserver> observer;
  // One JSON log line per RPC.
  bool log_rpcs = true;
  // API keys (see server/common/auth.h); empty: no access control.
  std::string api_keys_file;
  // TLS: certificate chain and private key (PEM files); with a client CA,
  // clients must present a certificate it signed (mutual TLS). Insecure
  // when no certificate is given.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Largest request or response message, and concurrent calls per connection.
  int max_message_bytes = 16 << 20;
  int max_concurrent_streams = 100;
};

class ThesisServer {
 public:
  // Starts serving; `backend` is kept for the server's lifetime.
  static absl::StatusOr<std::unique_ptr<ThesisServer>> Start(
      const ServerConfig& config, std::unique_ptr<storage::Backend> backend);
  ~ThesisServer();

  int port() const { return port_; }
  // Readiness (and the overall health status) to NOT_SERVING; liveness stays
  // SERVING. New calls are still served until Shutdown.
  void StopBeingReady();
  // Graceful: in-flight calls get until `grace` to finish, then are cancelled.
  void Shutdown(absl::Duration grace);

 private:
  ThesisServer(const ServerConfig& config, std::unique_ptr<storage::Backend> backend);
  // Checks readiness every interval; also prunes the request log and the
  // download state, and reloads the robots list when it changed.
  void ReadinessLoop();
  void SetReady(bool ready);

  const ServerConfig config_;
  std::shared_ptr<ServerObserver> observer_;
  api::CallPrincipals principals_;
  Authorizer authorizer_;
  api::Access access_;
  std::unique_ptr<storage::Backend> backend_;
  domain::PageTokenCodec page_tokens_;
  WorkerPool pool_;
  RobotsSource robots_;
  api::DownloadRecorder recorder_;
  api::ThesisServiceImpl thesis_service_;
  api::DownloadServiceImpl download_service_;
  api::ClassificationServiceImpl class_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_readiness_;
  std::thread readiness_thread_;
  bool shut_down_ = false;
};

}  // namespace thesis

#endif  // THESIS_SERVER_SERVER_H_
