#include "server/domain/counter.h"

#include <re2/re2.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace thesis::domain::counter {
namespace {

// Generic signs of automated clients, beyond the COUNTER list: empty or
// one-character agents, HTTP libraries and headless browsers.
const char* const kBuiltInPatterns[] = {
    "bot",    "crawl",           "spider",        "slurp",       "^.?$",           "curl/",
    "wget",   "python-requests", "python-urllib", "libwww-perl", "go-http-client", "java/",
    "okhttp", "headlesschrome",  "phantomjs",     "scrapy",      "httpclient",     "node-fetch",
    "axios/",
};

std::string Alternation(const std::vector<std::string>& patterns) {
  std::vector<std::string> groups;
  groups.reserve(patterns.size());
  for (const std::string& p : patterns) groups.push_back(absl::StrCat("(?:", p, ")"));
  return absl::StrJoin(groups, "|");
}

std::unique_ptr<re2::RE2> Compile(const std::vector<std::string>& patterns) {
  re2::RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  return std::make_unique<re2::RE2>(Alternation(patterns), options);
}

std::vector<std::string> BuiltInList() {
  return std::vector<std::string>(std::begin(kBuiltInPatterns), std::end(kBuiltInPatterns));
}

absl::CivilDay DayOf(absl::Time t) { return absl::ToCivilDay(t, absl::UTCTimeZone()); }

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCounted:
      return "COUNTED";
    case Outcome::kDoubleClick:
      return "DOUBLE_CLICK";
    case Outcome::kRobot:
      return "ROBOT";
    case Outcome::kNotSuccessful:
      return "NOT_SUCCESSFUL";
    case Outcome::kDuplicateRequest:
      return "DUPLICATE_REQUEST";
  }
  return "UNKNOWN";
}

bool IsSuccessful(int http_status) { return http_status == 200 || http_status == 304; }

std::string UserIdentity(const Event& e) {
  if (!e.user_id.empty()) return absl::StrCat("user:", e.user_id);
  if (!e.user_cookie.empty()) return absl::StrCat("cookie:", e.user_cookie);
  if (!e.session_cookie.empty()) return absl::StrCat("session:", e.session_cookie);
  return absl::StrCat("agent:", e.ip, "|", e.user_agent);
}

std::string UniqueSessionKey(const Event& e) {
  const absl::CivilHour hour = absl::ToCivilHour(e.time, absl::UTCTimeZone());
  const std::string date = absl::FormatCivilTime(absl::CivilDay(hour));
  if (!e.session_cookie.empty()) return absl::StrCat(e.session_cookie, "|", date);
  // Without a session cookie: the most reliable identity, by the hour.
  std::string identity = !e.user_id.empty()       ? e.user_id
                         : !e.user_cookie.empty() ? e.user_cookie
                                                  : absl::StrCat(e.ip, "|", e.user_agent);
  return absl::StrCat(identity, "|", date, "|", hour.hour());
}

RobotFilter::RobotFilter(std::unique_ptr<re2::RE2> re, size_t count)
    : re_(std::move(re)), pattern_count_(count) {}
RobotFilter::~RobotFilter() = default;

std::shared_ptr<const RobotFilter> RobotFilter::BuiltIn() {
  std::vector<std::string> patterns = BuiltInList();
  return std::shared_ptr<const RobotFilter>(new RobotFilter(Compile(patterns), patterns.size()));
}

absl::StatusOr<std::shared_ptr<const RobotFilter>> RobotFilter::WithCounterList(
    absl::string_view json, std::vector<std::string>* rejected) {
  google::protobuf::Value document;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &document).ok() ||
      !document.has_list_value()) {
    return absl::InvalidArgumentError("the robots list must be a JSON array of {\"pattern\": ...}");
  }
  std::vector<std::string> patterns = BuiltInList();
  re2::RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  for (int i = 0; i < document.list_value().values_size(); ++i) {
    const google::protobuf::Value& entry = document.list_value().values(i);
    if (!entry.has_struct_value()) {
      return absl::InvalidArgumentError(absl::StrCat("robots list entry ", i, " is not an object"));
    }
    auto it = entry.struct_value().fields().find("pattern");
    if (it == entry.struct_value().fields().end() || !it->second.has_string_value() ||
        it->second.string_value().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("robots list entry ", i, " has no pattern"));
    }
    const std::string& pattern = it->second.string_value();
    if (re2::RE2(pattern, options).ok()) {
      patterns.push_back(pattern);
    } else if (rejected != nullptr) {
      rejected->push_back(pattern);
    }
  }
  std::unique_ptr<re2::RE2> re = Compile(patterns);
  if (!re->ok()) return absl::InvalidArgumentError("the robot patterns do not compile together");
  return std::shared_ptr<const RobotFilter>(new RobotFilter(std::move(re), patterns.size()));
}

bool RobotFilter::IsRobot(absl::string_view user_agent) const {
  return re2::RE2::PartialMatch(re2::StringPiece(user_agent.data(), user_agent.size()), *re_);
}

bool Engine::CountTotal(const std::string& key, absl::Time time, const std::string& item,
                        int64_t Counts::*metric) {
  const absl::CivilDay day = DayOf(time);
  auto [it, fresh] = chains_.try_emplace(key, Chain{time, day});
  Chain& chain = it->second;
  if (!fresh && absl::AbsDuration(time - chain.last) <= kDoubleClickWindow) {
    // The same action: its one count moves to the day of its last event.
    if (time > chain.last) {
      if (chain.attributed != day) {
        --(by_day_[{item, chain.attributed}].*metric);
        ++(by_day_[{item, day}].*metric);
        chain.attributed = day;
      }
      chain.last = time;
    }
    return false;
  }
  chain = Chain{time, day};
  ++(by_day_[{item, day}].*metric);
  return true;
}

Outcome Engine::Record(const Event& e) {
  if (!e.request_id.empty() && !request_ids_.insert(e.request_id).second) {
    return Outcome::kDuplicateRequest;
  }
  if (!IsSuccessful(e.http_status)) return Outcome::kNotSuccessful;
  if (robots_ != nullptr && robots_->IsRobot(e.user_agent)) return Outcome::kRobot;

  const absl::CivilDay day = DayOf(e.time);
  Counts& today = by_day_[{e.item, day}];

  // Unique metrics: once per item per user-session.
  const std::vector<std::string> unique_keys = UniqueKeys(e);
  if (MarkUnique(unique_keys[0])) ++today.unique_investigations;
  if (e.kind == EventKind::kRequest && MarkUnique(unique_keys[1])) ++today.unique_requests;

  // Total metrics, each with its own double-click filter. A Request is also
  // an Investigation, filtered as part of the request action.
  const std::vector<std::string> chain_keys = ChainKeys(e);
  bool counted;
  if (e.kind == EventKind::kRequest) {
    counted = CountTotal(chain_keys[0], e.time, e.item, &Counts::total_requests);
    CountTotal(chain_keys[1], e.time, e.item, &Counts::total_investigations);
  } else {
    counted = CountTotal(chain_keys[0], e.time, e.item, &Counts::total_investigations);
  }
  return counted ? Outcome::kCounted : Outcome::kDoubleClick;
}

std::vector<std::string> Engine::ChainKeys(const Event& e) {
  const std::string identity = UserIdentity(e);
  if (e.kind == EventKind::kRequest) {
    return {absl::StrCat("R|", identity, "|", e.item), absl::StrCat("RI|", identity, "|", e.item)};
  }
  return {absl::StrCat("I|", identity, "|", e.item)};
}

std::vector<std::string> Engine::UniqueKeys(const Event& e) {
  const std::string session = UniqueSessionKey(e);
  if (e.kind == EventKind::kRequest) {
    return {absl::StrCat("I|", session, "|", e.item), absl::StrCat("R|", session, "|", e.item)};
  }
  return {absl::StrCat("I|", session, "|", e.item)};
}

bool Engine::MarkUnique(const std::string& key) {
  if (!unique_seen_.insert(key).second) return false;
  new_unique_keys_.push_back(key);
  return true;
}

Counts Engine::Total(const std::string& item) const {
  Counts sum;
  for (auto it = by_day_.lower_bound({item, absl::CivilDay::min()});
       it != by_day_.end() && it->first.first == item; ++it) {
    sum += it->second;
  }
  return sum;
}

Counts Engine::OnDay(const std::string& item, absl::CivilDay day) const {
  auto it = by_day_.find({item, day});
  return it == by_day_.end() ? Counts() : it->second;
}

}  // namespace thesis::domain::counter
