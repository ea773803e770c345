#include "server/api/rpc_interceptor.h"

#include <random>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/log.h"

namespace thesis::api {
namespace {

using grpc::experimental::InterceptionHookPoints;

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(&a), 8)) +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(&b), 8));
}

// A request id we accept from a caller: short printable ASCII.
bool UsableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(grpc::experimental::ServerRpcInfo* info, ServerObserver& observer,
                 CallPrincipals& principals, bool log_rpcs)
      : info_(info),
        observer_(observer),
        principals_(principals),
        log_rpcs_(log_rpcs),
        start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* metadata = methods->GetRecvInitialMetadata();
      auto it = metadata->find(kRequestIdHeader);
      if (it != metadata->end()) {
        request_id_.assign(it->second.data(), it->second.size());
        if (!UsableRequestId(request_id_)) request_id_.clear();
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kRequestIdHeader, RequestId());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Done(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  const std::string& RequestId() {
    if (request_id_.empty()) request_id_ = NewRequestId();
    return request_id_;
  }

  void Done(grpc::StatusCode code) {
    const absl::Duration latency = absl::Now() - start_;
    // gRPC's codes are the canonical ones absl::StatusCode numbers too.
    const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
    observer_.RpcDone(info_->method(), name, latency);
    const std::string key = principals_.Take(info_->server_context());
    // Health checks (probes every few seconds) are counted, not logged.
    if (!log_rpcs_ || absl::StartsWith(info_->method(), "/grpc.health.v1.Health/")) return;
    Log(code == grpc::StatusCode::OK || code == grpc::StatusCode::NOT_FOUND ||
                code == grpc::StatusCode::INVALID_ARGUMENT
            ? LogLevel::kInfo
            : LogLevel::kWarning,
        "rpc",
        {{"method", info_->method()},
         {"code", name},
         {"latency_ms", absl::ToDoubleMilliseconds(latency)},
         {"request_id", RequestId()},
         {"peer", info_->server_context()->peer()},
         {"key", key}});
  }

  grpc::experimental::ServerRpcInfo* info_;
  ServerObserver& observer_;
  CallPrincipals& principals_;
  const bool log_rpcs_;
  const absl::Time start_;
  std::string request_id_;
};

}  // namespace

void CallPrincipals::Set(const grpc::ServerContextBase* call, std::string key_name) {
  absl::MutexLock lock(&mu_);
  names_[call] = std::move(key_name);
}

std::string CallPrincipals::Take(const grpc::ServerContextBase* call) {
  absl::MutexLock lock(&mu_);
  auto it = names_.find(call);
  if (it == names_.end()) return "";
  std::string name = std::move(it->second);
  names_.erase(it);
  return name;
}

grpc::experimental::Interceptor* RpcInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new RpcInterceptor(info, observer_, principals_, log_rpcs_);
}

}  // namespace thesis::api
