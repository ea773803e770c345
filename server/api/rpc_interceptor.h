// Per-RPC bookkeeping for every service, as a gRPC server interceptor: the
// request id (from `x-request-id` metadata, or generated) returned to the
// caller in the initial metadata, one JSON log line per RPC (method, code,
// latency, request id, peer, API key name), and the RPC metrics.
#ifndef THESIS_SERVER_API_RPC_INTERCEPTOR_H_
#define THESIS_SERVER_API_RPC_INTERCEPTOR_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/common/observer.h"

namespace thesis::api {

inline constexpr char kRequestIdHeader[] = "x-request-id";

// Which API key made each call in flight, so that its log line can name
// it. Written by the authorizer, read when the call ends.
class CallPrincipals {
 public:
  void Set(const grpc::ServerContextBase* call, std::string key_name);
  std::string Take(const grpc::ServerContextBase* call);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, std::string> names_ ABSL_GUARDED_BY(mu_);
};

class RpcInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Neither is owned; both outlive the server. `log_rpcs` false: no line per
  // RPC (metrics still count).
  RpcInterceptorFactory(ServerObserver& observer, CallPrincipals& principals, bool log_rpcs)
      : observer_(observer), principals_(principals), log_rpcs_(log_rpcs) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServerObserver& observer_;
  CallPrincipals& principals_;
  const bool log_rpcs_;
};

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_RPC_INTERCEPTOR_H_
