// absl::Status -> grpc::Status, the one place where it happens.
#ifndef THESIS_SERVER_API_GRPC_STATUS_H_
#define THESIS_SERVER_API_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace thesis::api {

// Same code and message; every payload of `status` (ErrorInfo, BadRequest,
// ...) becomes a detail of the google.rpc.Status sent in the
// grpc-status-details-bin trailer.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_GRPC_STATUS_H_
