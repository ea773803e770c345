// Bearer-token access control with roles, and a rate limit per key.
//
// API keys live in a file (a Kubernetes Secret mounted as one), one a line:
//
//   # name   role      sha256 of the token                      [calls/s]
//   gateway  recorder  sha256:9f86d081884c7d659a2feaa0c55ad015...  500
//
// Only the SHA-256 of each token is stored, so the file does not hold the
// secrets themselves (`printf %s "$TOKEN" | sha256sum`). The file is re-read
// when it changes (ApiKeys::Reload, called by the server's maintenance
// loop), so keys are added, revoked and rotated without a restart; a file
// that fails to parse keeps the keys in force. Roles are ordered: each one
// may do what the one before it may:
//   reader    reads records, download counts and classes
//   recorder  + records download events (a download gateway)
//   writer    + creates and updates records
//   admin     + deletes, imports, class tables
#ifndef THESIS_SERVER_COMMON_AUTH_H_
#define THESIS_SERVER_COMMON_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/watched_file.h"

namespace thesis {

enum class Role { kReader = 1, kRecorder = 2, kWriter = 3, kAdmin = 4 };

absl::string_view RoleName(Role role);

struct ApiKey {
  std::string name;
  Role role = Role::kReader;
  double calls_per_second = 0;  // 0: no limit
};

// Parses a keys file (format above): hex SHA-256 of the token -> key.
// INVALID_ARGUMENT naming the line of the first problem.
absl::StatusOr<absl::flat_hash_map<std::string, ApiKey>> ParseApiKeys(absl::string_view text);

// The hex SHA-256 of a token.
std::string TokenHash(absl::string_view token);

class Authorizer {
 public:
  // `keys_file` empty: access control is off and every call is allowed.
  explicit Authorizer(std::string keys_file);

  // Loads the file if it changed since the last load; OK when nothing
  // needed loading. The constructor does not load: call it once at start.
  absl::Status Reload();
  bool enabled() const { return !keys_file_.path().empty(); }

  // The key behind the call's `authorization: Bearer` token, if it may act
  // as `required`: UNAUTHENTICATED without a valid token, PERMISSION_DENIED
  // for a lesser role, RESOURCE_EXHAUSTED (with RetryInfo) over the key's
  // rate. The name is "" when access control is off.
  absl::StatusOr<std::string> Check(const grpc::ServerContextBase& context, Role required);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refreshed;
  };

  WatchedFile keys_file_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ApiKey> keys_ ABSL_GUARDED_BY(mu_);     // by token hash
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);  // by key name
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_AUTH_H_
