// Entity tags of stored records.
#ifndef THESIS_SERVER_DOMAIN_ETAG_H_
#define THESIS_SERVER_DOMAIN_ETAG_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"

namespace thesis::domain {

// Opaque to clients. A revision counter alone would repeat after a delete and
// re-create under the same id; the update time in microseconds does not.
inline std::string MakeEtag(int64_t revision, int64_t update_time_micros) {
  return absl::StrFormat("W/\"%d-%x\"", revision, update_time_micros);
}

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_ETAG_H_
