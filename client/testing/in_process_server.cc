#include "thesis/client/testing/in_process_server.h"

#include "server/server.h"
#include "server/storage/memory_backend.h"

namespace thesis::client::testing {

struct InProcessThesisServer::Impl {
  std::unique_ptr<ThesisServer> server;
};

absl::StatusOr<std::unique_ptr<InProcessThesisServer>> InProcessThesisServer::Start() {
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.workers = 4;
  config.page_token_secret = "in-process-test-server";
  config.readiness_interval = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<ThesisServer>> server =
      ThesisServer::Start(config, std::make_unique<storage::MemoryBackend>());
  if (!server.ok()) return server.status();
  auto impl = std::make_unique<Impl>();
  impl->server = std::move(*server);
  return std::unique_ptr<InProcessThesisServer>(new InProcessThesisServer(std::move(impl)));
}

InProcessThesisServer::InProcessThesisServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

InProcessThesisServer::~InProcessThesisServer() {
  if (impl_ && impl_->server) impl_->server->Shutdown(absl::Seconds(1));
}

std::string InProcessThesisServer::address() const {
  return "127.0.0.1:" + std::to_string(impl_->server->port());
}

std::unique_ptr<ThesisClient> InProcessThesisServer::NewClient() const {
  ClientOptions options;
  options.target = address();
  return std::make_unique<ThesisClient>(options);
}

}  // namespace thesis::client::testing
