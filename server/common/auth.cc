#include "server/common/auth.h"

#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"
#include "server/common/log.h"

namespace thesis {
namespace {

constexpr char kRetryInfoTypeUrl[] = "type.googleapis.com/google.rpc.RetryInfo";

absl::Status Unauthenticated(absl::string_view why) {
  return WithReason(absl::UnauthenticatedError(why), "UNAUTHENTICATED");
}

bool ParseRole(absl::string_view text, Role* role) {
  for (Role r : {Role::kReader, Role::kRecorder, Role::kWriter, Role::kAdmin}) {
    if (text == RoleName(r)) {
      *role = r;
      return true;
    }
  }
  return false;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kRecorder:
      return "recorder";
    case Role::kWriter:
      return "writer";
    case Role::kAdmin:
      return "admin";
  }
  return "reader";
}

std::string TokenHash(absl::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<absl::flat_hash_map<std::string, ApiKey>> ParseApiKeys(absl::string_view text) {
  absl::flat_hash_map<std::string, ApiKey> keys;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", why));
    };
    if (parts.size() < 3 || parts.size() > 4) {
      return bad("want: name role sha256:HEX [calls_per_second]");
    }
    ApiKey key;
    key.name = std::string(parts[0]);
    if (!ParseRole(parts[1], &key.role)) {
      return bad("the role must be reader, recorder, writer or admin");
    }
    absl::string_view hash = parts[2];
    if (!absl::ConsumePrefix(&hash, "sha256:") || hash.size() != 64 ||
        !std::all_of(hash.begin(), hash.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
      return bad("the token hash must be sha256: and 64 hex digits");
    }
    if (parts.size() == 4 &&
        (!absl::SimpleAtod(parts[3], &key.calls_per_second) || key.calls_per_second < 0)) {
      return bad("calls_per_second must be a number >= 0");
    }
    if (!keys.emplace(absl::AsciiStrToLower(hash), key).second) {
      return bad("the same token hash is listed twice");
    }
  }
  return keys;
}

Authorizer::Authorizer(std::string keys_file) : keys_file_(std::move(keys_file)) {}

absl::Status Authorizer::Reload() {
  if (!enabled()) return absl::OkStatus();
  absl::StatusOr<std::optional<std::string>> text = keys_file_.ReadIfChanged();
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("API keys file ", text.status().message()));
  }
  if (!text->has_value()) return absl::OkStatus();
  absl::StatusOr<absl::flat_hash_map<std::string, ApiKey>> keys = ParseApiKeys(**text);
  if (!keys.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("API keys file ", keys_file_.path(), ": ", keys.status().message()));
  }
  LogInfo("API keys loaded",
          {{"file", keys_file_.path()}, {"keys", static_cast<int64_t>(keys->size())}});
  keys_file_.Accept();
  absl::MutexLock lock(&mu_);
  keys_ = std::move(*keys);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Authorizer::Check(const grpc::ServerContextBase& context,
                                              Role required) {
  if (!enabled()) return std::string();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end())
    return Unauthenticated("this call needs an authorization: Bearer token");
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&value, "Bearer ") || value.empty()) {
    return Unauthenticated("the authorization header must be \"Bearer <token>\"");
  }
  const std::string hash = TokenHash(value);
  absl::MutexLock lock(&mu_);
  auto key = keys_.find(hash);
  if (key == keys_.end()) return Unauthenticated("the token is not valid");
  const ApiKey& k = key->second;
  if (k.role < required) {
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat("key ", k.name, " has role ", RoleName(k.role),
                                                 "; this call needs ", RoleName(required))),
        "PERMISSION_DENIED");
  }
  if (k.calls_per_second > 0) {
    // Token bucket: a burst of one second's worth, refilled continuously.
    const absl::Time now = absl::Now();
    auto [b, fresh] = buckets_.try_emplace(k.name, Bucket{k.calls_per_second, now});
    Bucket& bucket = b->second;
    if (!fresh) {
      bucket.tokens = std::min(
          k.calls_per_second,
          bucket.tokens + absl::ToDoubleSeconds(now - bucket.refreshed) * k.calls_per_second);
      bucket.refreshed = now;
    }
    if (bucket.tokens < 1) {
      const absl::Duration wait = absl::Seconds((1 - bucket.tokens) / k.calls_per_second);
      absl::Status status = WithReason(
          absl::ResourceExhaustedError(absl::StrCat("key ", k.name, " is over its limit of ",
                                                    k.calls_per_second, " calls per second")),
          "RATE_LIMITED");
      google::rpc::RetryInfo retry;
      retry.mutable_retry_delay()->set_seconds(absl::ToInt64Seconds(wait));
      retry.mutable_retry_delay()->set_nanos(
          static_cast<int32_t>(absl::ToInt64Nanoseconds(wait % absl::Seconds(1))));
      status.SetPayload(kRetryInfoTypeUrl, absl::Cord(retry.SerializeAsString()));
      return status;
    }
    bucket.tokens -= 1;
  }
  return k.name;
}

}  // namespace thesis
