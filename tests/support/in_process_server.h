// The real server, started in this process on 127.0.0.1:0, and a client of it.
#ifndef THESIS_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
#define THESIS_TESTS_SUPPORT_IN_PROCESS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/server.h"
#include "thesis/client/thesis_client.h"

namespace thesis::testing {

class InProcessServer {
 public:
  // `config.listen_address` is replaced by 127.0.0.1:0.
  static absl::StatusOr<std::unique_ptr<InProcessServer>> Start(
      std::unique_ptr<storage::Backend> backend, ServerConfig config = {});

  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  client::ThesisClient& client() { return *client_; }
  ThesisServer& server() { return *server_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // Health of `service` ("liveness", "readiness"), or UNKNOWN on error.
  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& service);
  // Polls until `service` reports `want` or `timeout` passes.
  bool WaitForHealth(const std::string& service,
                     grpc::health::v1::HealthCheckResponse::ServingStatus want,
                     absl::Duration timeout);

 private:
  std::unique_ptr<ThesisServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<client::ThesisClient> client_;
};

}  // namespace thesis::testing

#endif  // THESIS_TESTS_SUPPORT_IN_PROCESS_SERVER_H_
