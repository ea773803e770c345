// The access check every RPC makes before any work: token, role, rate.
#ifndef THESIS_SERVER_API_ACCESS_H_
#define THESIS_SERVER_API_ACCESS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "server/api/rpc_interceptor.h"
#include "server/common/auth.h"
#include "server/common/observer.h"

namespace thesis::api {

class Access {
 public:
  Access(Authorizer& authorizer, CallPrincipals& principals, ServerObserver& observer)
      : authorizer_(authorizer), principals_(principals), observer_(observer) {}

  // OK when the caller may act as `role`; the refusal otherwise (counted
  // by reason). Names the key in the call's log line.
  absl::Status Check(grpc::CallbackServerContext* context, Role role);

 private:
  Authorizer& authorizer_;
  CallPrincipals& principals_;
  ServerObserver& observer_;
};

// Streaming reactors that only refuse.
template <typename Request>
class RefusedReader : public grpc::ServerReadReactor<Request> {
 public:
  explicit RefusedReader(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Response>
class RefusedWriter : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_ACCESS_H_
