#include "server/domain/download_validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/domain/thesis_validation.h"

namespace thesis::domain {
namespace {

void CheckLength(absl::string_view value, size_t max, const std::string& field,
                 std::vector<FieldViolation>* violations) {
  if (value.size() > max) {
    violations->push_back({field, absl::StrCat("must be at most ", max, " bytes")});
  }
}

// Parses YYYY-MM-DD (day) or YYYY-MM (month); false when neither.
bool ParseDateOrMonth(absl::string_view text, absl::CivilDay* day, bool* is_month) {
  absl::CivilDay d;
  if (text.size() == 10 && absl::ParseCivilTime(text, &d)) {
    *day = d;
    *is_month = false;
    return true;
  }
  absl::CivilMonth m;
  if (text.size() == 7 && absl::ParseCivilTime(text, &m)) {
    *day = absl::CivilDay(m);
    *is_month = true;
    return true;
  }
  return false;
}

}  // namespace

void ToCounterEvent(const thesis::v1::DownloadEvent& event, absl::string_view prefix,
                    absl::Time now, counter::Event* out, std::vector<FieldViolation>* violations) {
  absl::StatusOr<std::string> id = ParseThesisName(event.thesis(), absl::StrCat(prefix, "thesis"));
  if (id.ok()) {
    out->item = std::move(*id);
  } else {
    for (FieldViolation& v : FieldViolations(id.status())) violations->push_back(std::move(v));
  }
  if (event.has_time()) {
    const auto& ts = event.time();
    if (ts.nanos() < 0 || ts.nanos() > 999999999) {
      violations->push_back({absl::StrCat(prefix, "time"), "is not a valid timestamp"});
    } else {
      out->time = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
      if (out->time > now + kMaxEventSkew) {
        violations->push_back({absl::StrCat(prefix, "time"),
                               "is more than 5 minutes in the future of the server's clock"});
      } else if (out->time < now - kMaxEventAge) {
        violations->push_back({absl::StrCat(prefix, "time"), "is more than 24 hours in the past"});
      }
    }
  } else {
    out->time = now;
  }
  switch (event.kind()) {
    case thesis::v1::INVESTIGATION:
      out->kind = counter::EventKind::kInvestigation;
      break;
    case thesis::v1::REQUEST:
      out->kind = counter::EventKind::kRequest;
      break;
    default:
      violations->push_back({absl::StrCat(prefix, "kind"), "must be INVESTIGATION or REQUEST"});
  }
  if (event.http_status() < 100 || event.http_status() > 599) {
    violations->push_back(
        {absl::StrCat(prefix, "http_status"), "must be the HTTP status delivered (100-599)"});
  }
  out->http_status = event.http_status();
  const thesis::v1::ClientIdentity& c = event.client();
  const std::string client = absl::StrCat(prefix, "client.");
  CheckLength(c.user_id(), kMaxIdentityBytes, client + "user_id", violations);
  CheckLength(c.user_cookie(), kMaxIdentityBytes, client + "user_cookie", violations);
  CheckLength(c.session_cookie(), kMaxIdentityBytes, client + "session_cookie", violations);
  CheckLength(c.ip(), 64, client + "ip", violations);
  CheckLength(c.user_agent(), kMaxUserAgentBytes, client + "user_agent", violations);
  if (c.user_id().empty() && c.user_cookie().empty() && c.session_cookie().empty() &&
      c.ip().empty()) {
    violations->push_back({absl::StrCat(prefix, "client"),
                           "needs a user_id, user_cookie, session_cookie or ip to tell users "
                           "apart"});
  }
  out->user_id = c.user_id();
  out->user_cookie = c.user_cookie();
  out->session_cookie = c.session_cookie();
  out->ip = c.ip();
  out->user_agent = c.user_agent();
  ValidateRequestId(event.request_id(), absl::StrCat(prefix, "request_id"), violations);
  out->request_id = event.request_id();
}

absl::StatusOr<DateRange> ParseDateRange(absl::string_view start, absl::string_view end,
                                         absl::string_view start_field,
                                         absl::string_view end_field) {
  DateRange range;
  std::vector<FieldViolation> violations;
  bool is_month = false;
  if (!start.empty() && !ParseDateOrMonth(start, &range.first, &is_month)) {
    violations.push_back({std::string(start_field), "must be YYYY-MM-DD or YYYY-MM"});
  }
  if (!end.empty()) {
    if (!ParseDateOrMonth(end, &range.last, &is_month)) {
      violations.push_back({std::string(end_field), "must be YYYY-MM-DD or YYYY-MM"});
    } else if (is_month) {
      range.last = absl::CivilDay(absl::CivilMonth(range.last) + 1) - 1;
    }
  }
  if (violations.empty() && range.last < range.first) {
    violations.push_back({std::string(end_field), "must not be before the start"});
  }
  if (!violations.empty()) return InvalidArgumentError(violations);
  return range;
}

absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view text, absl::string_view field) {
  absl::CivilMonth m;
  if (text.size() != 7 || !absl::ParseCivilTime(text, &m)) {
    return InvalidFieldError(field, "must be YYYY-MM");
  }
  return m;
}

}  // namespace thesis::domain
