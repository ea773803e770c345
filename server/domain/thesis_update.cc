#include "server/domain/thesis_update.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "server/common/errors.h"
#include "server/domain/thesis_validation.h"

namespace thesis::domain {
namespace {

using google::protobuf::FieldMask;
using google::protobuf::util::FieldMaskUtil;
using thesis::v1::Thesis;

const absl::flat_hash_set<std::string>& OutputOnlyPaths() {
  static const auto* paths =
      new absl::flat_hash_set<std::string>{"name", "create_time", "update_time", "etag"};
  return *paths;
}

bool IsOutputOnly(const std::string& path) {
  for (const std::string& p : OutputOnlyPaths()) {
    if (path == p || path.rfind(p + ".", 0) == 0) return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateUpdateMask(const FieldMask& mask) {
  if (mask.paths_size() == 0) {
    return InvalidFieldError("update_mask", "is required; use \"*\" to replace every field");
  }
  if (mask.paths_size() == 1 && mask.paths(0) == "*") return absl::OkStatus();
  std::vector<FieldViolation> violations;
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    std::string field = absl::StrCat("update_mask.paths[", i, "]");
    if (path == "*") {
      violations.push_back({field, "\"*\" must be the only path"});
    } else if (path.empty() || path.front() == '.' || path.back() == '.' ||
               path.find("..") != std::string::npos) {
      violations.push_back({field, absl::StrCat("\"", path, "\" is not a field path")});
    } else if (!FieldMaskUtil::GetFieldDescriptors(Thesis::descriptor(), path, nullptr)) {
      violations.push_back({field, absl::StrCat("\"", path, "\" is not a field of Thesis")});
    } else if (IsOutputOnly(path)) {
      violations.push_back({field, absl::StrCat("\"", path, "\" is output only")});
    }
  }
  if (!violations.empty()) return InvalidArgumentError(violations);
  return absl::OkStatus();
}

absl::Status ApplyUpdate(const Thesis& patch, const FieldMask& mask, Thesis* target) {
  absl::Status mask_status = ValidateUpdateMask(mask);
  if (!mask_status.ok()) return mask_status;

  Thesis updated = *target;
  if (mask.paths_size() == 1 && mask.paths(0) == "*") {
    updated = patch;
    ClearOutputOnlyFields(&updated);
  } else {
    FieldMaskUtil::MergeOptions options;
    options.set_replace_message_fields(true);
    options.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(patch, mask, options, &updated);
  }
  // Output-only fields stay as stored.
  updated.set_name(target->name());
  *updated.mutable_create_time() = target->create_time();
  *updated.mutable_update_time() = target->update_time();
  updated.set_etag(target->etag());

  std::vector<FieldViolation> violations;
  ValidateThesis(updated, "thesis.", &violations);
  if (!violations.empty()) return InvalidArgumentError(violations);
  *target = std::move(updated);
  return absl::OkStatus();
}

}  // namespace thesis::domain
