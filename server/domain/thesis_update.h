// Applying an UpdateThesis field mask to a stored record.
#ifndef THESIS_SERVER_DOMAIN_THESIS_UPDATE_H_
#define THESIS_SERVER_DOMAIN_THESIS_UPDATE_H_

#include "absl/status/status.h"
#include "google/protobuf/field_mask.pb.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {

// Checks the mask's paths: each must name a writable field of Thesis (or a
// field of online_publication / source); `*` alone means every writable field.
absl::Status ValidateUpdateMask(const google::protobuf::FieldMask& mask);

// Copies the masked fields of `patch` into `target` (replacing repeated and
// message fields whole) and validates the result. Output-only fields of
// `target` are left as they are.
absl::Status ApplyUpdate(const thesis::v1::Thesis& patch, const google::protobuf::FieldMask& mask,
                         thesis::v1::Thesis* target);

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_THESIS_UPDATE_H_
