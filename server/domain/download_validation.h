// Checks of DownloadService requests: events and date ranges. Pure.
#ifndef THESIS_SERVER_DOMAIN_DOWNLOAD_VALIDATION_H_
#define THESIS_SERVER_DOMAIN_DOWNLOAD_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/common/errors.h"
#include "server/domain/counter.h"
#include "thesis/v1/download.pb.h"

namespace thesis::domain {

inline constexpr int kMaxEventsPerBatch = 10000;
// Event times the service accepts, relative to its clock. Older events
// could depend on double-click and unique-session state already pruned.
inline constexpr absl::Duration kMaxEventAge = absl::Hours(24);
inline constexpr absl::Duration kMaxEventSkew = absl::Minutes(5);
inline constexpr size_t kMaxUserAgentBytes = 2048;
inline constexpr size_t kMaxIdentityBytes = 256;

// Checks `event` and converts it; violations name fields under `prefix`
// (e.g. "events[3]."). An unset time is `now`.
void ToCounterEvent(const thesis::v1::DownloadEvent& event, absl::string_view prefix,
                    absl::Time now, counter::Event* out, std::vector<FieldViolation>* violations);

struct DateRange {
  absl::CivilDay first = absl::CivilDay(1970, 1, 1);
  absl::CivilDay last = absl::CivilDay(9999, 12, 31);
};

// `YYYY-MM-DD` or `YYYY-MM` (the whole month) for each end, empty for
// open; INVALID_ARGUMENT naming the field when malformed or reversed.
absl::StatusOr<DateRange> ParseDateRange(absl::string_view start, absl::string_view end,
                                         absl::string_view start_field,
                                         absl::string_view end_field);
// `YYYY-MM`.
absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view text, absl::string_view field);

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_DOWNLOAD_VALIDATION_H_
