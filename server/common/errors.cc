#include "server/common/errors.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace thesis {

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status InvalidArgumentError(const std::vector<FieldViolation>& violations,
                                  absl::string_view reason) {
  // The details travel in a response header, which clients cap (8 KiB by
  // default): list the first violations only; the message gives the count.
  constexpr size_t kMaxListed = 40;
  google::rpc::BadRequest bad_request;
  for (const FieldViolation& v : violations) {
    if (static_cast<size_t>(bad_request.field_violations_size()) == kMaxListed) break;
    auto* out = bad_request.add_field_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
  std::string message = "invalid argument";
  if (!violations.empty()) {
    message = absl::StrCat(violations.front().field, ": ", violations.front().description);
    if (violations.size() > 1) absl::StrAppend(&message, " (and ", violations.size() - 1, " more)");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestTypeUrl, absl::Cord(bad_request.SerializeAsString()));
  return WithReason(std::move(status), reason);
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view description,
                               absl::string_view reason) {
  return InvalidArgumentError({{std::string(field), std::string(description)}}, reason);
}

std::string ErrorReason(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

std::vector<FieldViolation> FieldViolations(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload) return out;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return out;
  for (const auto& v : bad_request.field_violations()) out.push_back({v.field(), v.description()});
  return out;
}

}  // namespace thesis
