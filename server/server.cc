#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/watched_file.h"

namespace thesis {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, " ", text.status().message()));
  if (text->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " ", path, " is not PEM"));
  }
  return text;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerConfig& config) {
  if (config.tls_cert_file.empty() && config.tls_key_file.empty()) {
    if (!config.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError("a client CA needs a server certificate and key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  absl::StatusOr<std::string> cert = ReadPem(config.tls_cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(config.tls_key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls_client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(config.tls_client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

api::DownloadRecorder::Options RecorderOptions(const ServerConfig& config) {
  api::DownloadRecorder::Options options;
  options.queue_capacity_events = static_cast<size_t>(std::max(1, config.download_queue_events));
  return options;
}

}  // namespace

ThesisServer::ThesisServer(const ServerConfig& config, std::unique_ptr<storage::Backend> backend)
    : config_(config),
      observer_(config.observer != nullptr ? config.observer : std::make_shared<ServerObserver>()),
      authorizer_(config.api_keys_file),
      access_(authorizer_, principals_, *observer_),
      backend_(std::move(backend)),
      page_tokens_(config.page_token_secret),
      pool_(*backend_, config.workers, config.queue_capacity, observer_.get()),
      robots_(config.robots_file),
      recorder_(*backend_, robots_, RecorderOptions(config), observer_.get()),
      thesis_service_(pool_, page_tokens_, access_),
      download_service_(pool_, recorder_, page_tokens_, access_),
      class_service_(pool_, page_tokens_, access_) {}

absl::StatusOr<std::unique_ptr<ThesisServer>> ThesisServer::Start(
    const ServerConfig& config, std::unique_ptr<storage::Backend> backend) {
  if (config.workers < 1 || config.queue_capacity < 1 || config.download_queue_events < 1) {
    return absl::InvalidArgumentError(
        "workers, queue_capacity and download_queue_events must be at least 1");
  }
  std::unique_ptr<ThesisServer> server(new ThesisServer(config, std::move(backend)));
  if (absl::Status robots = server->robots_.Reload(); !robots.ok()) return robots;
  if (absl::Status keys = server->authorizer_.Reload(); !keys.ok()) return keys;
  if (!server->authorizer_.enabled()) {
    LogWarning("no API keys file: every caller may do everything (development only)");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = ServerCredentials(config);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  if (config.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<api::RpcInterceptorFactory>(
      *server->observer_, server->principals_, config.log_rpcs));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(&server->thesis_service_);
  builder.RegisterService(&server->download_service_);
  builder.RegisterService(&server->class_service_);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.max_connection_age)));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.max_connection_age_grace)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  // Let clients ping every 10 s without being told to go away.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen_address));
  }
  auto* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(kLivenessService, true);
  server->SetReady(false);
  server->readiness_thread_ = std::thread(&ThesisServer::ReadinessLoop, server.get());
  return server;
}

ThesisServer::~ThesisServer() { Shutdown(absl::ZeroDuration()); }

void ThesisServer::SetReady(bool ready) {
  if (server_ == nullptr) return;  // Start failed before serving
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus(kReadinessService, ready);
  health->SetServingStatus("", ready);
  health->SetServingStatus(thesis::v1::ThesisService::service_full_name(), ready);
  health->SetServingStatus(thesis::v1::DownloadService::service_full_name(), ready);
}

void ThesisServer::ReadinessLoop() {
  std::unique_ptr<storage::Session> session = backend_->NewSession();
  std::string last_problem = "starting";
  // Files re-read while running: a problem is logged once, until it changes.
  std::string last_keys_problem, last_robots_problem;
  auto reload = [](const absl::Status& status, absl::string_view keeping, std::string* last) {
    if (!status.ok() && status.message() != *last) {
      LogWarning(absl::StrCat("keeping the ", keeping, " in force: ", status.message()));
    }
    *last = std::string(status.message());
  };
  absl::Time next_prune = absl::Now();
  while (true) {
    absl::Status status = session->CheckReady(config_.required_schema_version);
    const std::string problem = status.ok() ? "" : std::string(status.message());
    if (problem != last_problem) {
      if (problem.empty()) {
        LogInfo("readiness: SERVING");
      } else {
        LogWarning(absl::StrCat("readiness: NOT_SERVING: ", problem));
      }
      last_problem = problem;
    }
    if (stop_readiness_.HasBeenNotified()) return;
    SetReady(status.ok());
    reload(authorizer_.Reload(), "API keys", &last_keys_problem);
    reload(robots_.Reload(), "robot patterns", &last_robots_problem);
    if (status.ok() && absl::Now() >= next_prune) {
      absl::Status pruned = session->PruneRequestLog(config_.request_log_retention);
      if (!pruned.ok()) LogWarning(absl::StrCat("pruning request_log: ", pruned.message()));
      next_prune = absl::Now() + config_.request_log_prune_interval;
    }
    if (stop_readiness_.WaitForNotificationWithTimeout(config_.readiness_interval)) return;
  }
}

void ThesisServer::StopBeingReady() {
  if (!stop_readiness_.HasBeenNotified()) stop_readiness_.Notify();
  if (readiness_thread_.joinable()) readiness_thread_.join();
  SetReady(false);
}

void ThesisServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  StopBeingReady();
  // Calls in flight still finish through the pool and the recorder.
  if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  recorder_.Shutdown();
  pool_.Shutdown();
  if (server_ != nullptr) server_->Wait();
}

}  // namespace thesis
