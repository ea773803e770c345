#include "server/api/access.h"

#include "server/common/errors.h"

namespace thesis::api {

absl::Status Access::Check(grpc::CallbackServerContext* context, Role role) {
  absl::StatusOr<std::string> key = authorizer_.Check(*context, role);
  if (!key.ok()) {
    observer_.AuthFailure(ErrorReason(key.status()));
    return key.status();
  }
  if (!key->empty()) principals_.Set(context, *key);
  return absl::OkStatus();
}

}  // namespace thesis::api
