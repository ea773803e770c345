#include "tests/support/in_process_server.h"

#include "absl/time/clock.h"

namespace thesis::testing {

absl::StatusOr<std::unique_ptr<InProcessServer>> InProcessServer::Start(
    std::unique_ptr<storage::Backend> backend, ServerConfig config) {
  config.listen_address = "127.0.0.1:0";
  if (config.readiness_interval == absl::Seconds(1)) {
    config.readiness_interval = absl::Milliseconds(100);
  }
  if (config.page_token_secret.empty()) config.page_token_secret = "test-secret";
  absl::StatusOr<std::unique_ptr<ThesisServer>> server =
      ThesisServer::Start(config, std::move(backend));
  if (!server.ok()) return server.status();
  auto out = std::unique_ptr<InProcessServer>(new InProcessServer());
  out->server_ = std::move(*server);
  client::ClientOptions options;
  options.target = out->address();
  options.default_timeout = absl::Seconds(20);
  // Tests here watch what the server itself answers (also while it is not
  // ready), so this client sends calls whatever the server's health says.
  options.health_check_service = "";
  out->channel_ = client::CreateChannel(options);
  out->client_ = std::make_unique<client::ThesisClient>(out->channel_, options);
  return out;
}

grpc::health::v1::HealthCheckResponse::ServingStatus InProcessServer::Health(
    const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) {
    return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

bool InProcessServer::WaitForHealth(const std::string& service,
                                    grpc::health::v1::HealthCheckResponse::ServingStatus want,
                                    absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (Health(service) == want) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return Health(service) == want;
}

}  // namespace thesis::testing
