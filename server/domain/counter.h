// COUNTER Code of Practice (Release 5.1) rules for download events, as pure
// functions and a reference engine. No gRPC, no SQL: the storage layer
// applies the same rules transactionally, and the engine is the executable
// statement of what it must compute.
#ifndef THESIS_SERVER_DOMAIN_COUNTER_H_
#define THESIS_SERVER_DOMAIN_COUNTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace re2 {
class RE2;
}

namespace thesis::domain::counter {

// Two actions of the same kind on the same item by the same user closer than
// this are one action (a "double click"); the window chains.
inline constexpr absl::Duration kDoubleClickWindow = absl::Seconds(30);

enum class EventKind {
  kInvestigation,  // abstract or metadata view
  kRequest,        // full-text download (also an Investigation)
};

// Why an event counted or not.
enum class Outcome {
  kCounted,           // a new action for the Total metrics
  kDoubleClick,       // continues an action within 30 s: Totals unchanged
  kRobot,             // User-Agent matches a robot pattern
  kNotSuccessful,     // HTTP status other than 200 and 304
  kDuplicateRequest,  // request_id seen before: already counted once
};

absl::string_view OutcomeName(Outcome outcome);

struct Event {
  std::string item;  // thesis id
  absl::Time time;
  EventKind kind = EventKind::kInvestigation;
  int http_status = 200;
  std::string user_id;         // logged-in user
  std::string user_cookie;     // long-lived user cookie
  std::string session_cookie;  // session cookie
  std::string ip;
  std::string user_agent;
  std::string request_id;  // optional idempotency key
};

// Only 200 (delivered) and 304 (not modified) count.
bool IsSuccessful(int http_status);

// The most reliable identity the event carries: user id, then user cookie,
// then session cookie, then IP + User-Agent.
std::string UserIdentity(const Event& event);

// The user-session of the Unique metrics: session cookie + date when there
// is one, else identity + date + hour, e.g.
// "192.1.1.168|Mozilla/5.0|2024-06-15|13". Dates and hours in UTC.
std::string UniqueSessionKey(const Event& event);

// Robots and crawlers, matched case-insensitively anywhere in the
// User-Agent: a few generic patterns of our own, plus the COUNTER robots
// list when loaded. Immutable; reload by building a new one.
class RobotFilter {
 public:
  // The built-in patterns only.
  static std::shared_ptr<const RobotFilter> BuiltIn();
  // Built-ins plus every pattern of a COUNTER_Robots_list.json document
  // (`[{"pattern": "...", ...}, ...]`). Patterns RE2 cannot compile are
  // reported in `rejected` and left out; a document that is not such a
  // list is INVALID_ARGUMENT.
  static absl::StatusOr<std::shared_ptr<const RobotFilter>> WithCounterList(
      absl::string_view json, std::vector<std::string>* rejected = nullptr);

  bool IsRobot(absl::string_view user_agent) const;
  size_t pattern_count() const { return pattern_count_; }

  ~RobotFilter();

 private:
  RobotFilter(std::unique_ptr<re2::RE2> re, size_t count);
  std::unique_ptr<re2::RE2> re_;
  size_t pattern_count_;
};

// The four COUNTER item metrics.
struct Counts {
  int64_t total_investigations = 0;
  int64_t unique_investigations = 0;
  int64_t total_requests = 0;
  int64_t unique_requests = 0;

  Counts& operator+=(const Counts& o) {
    total_investigations += o.total_investigations;
    unique_investigations += o.unique_investigations;
    total_requests += o.total_requests;
    unique_requests += o.unique_requests;
    return *this;
  }

  bool operator==(const Counts& o) const {
    return total_investigations == o.total_investigations &&
           unique_investigations == o.unique_investigations && total_requests == o.total_requests &&
           unique_requests == o.unique_requests;
  }
};

// Applies the rules to events in arrival order and keeps the counts per item
// and per day. A chain of double clicks counts once, on the day of its last
// event. Reference implementation: simple, single-threaded, in memory.
class Engine {
 public:
  explicit Engine(std::shared_ptr<const RobotFilter> robots) : robots_(std::move(robots)) {}

  Outcome Record(const Event& event);
  // Robots from now on (after a reload of the list).
  void set_robots(std::shared_ptr<const RobotFilter> robots) { robots_ = std::move(robots); }

  Counts Total(const std::string& item) const;
  // Counts of the events of one UTC day.
  Counts OnDay(const std::string& item, absl::CivilDay day) const;

  // ---- For a store that keeps the state elsewhere (PostgreSQL) ------------
  // It loads the state the events of a batch depend on into a fresh engine,
  // records the events, and writes back what changed: by_day() then holds
  // the changes of the counts (a chain's count moving to a later day is -1
  // on one day and +1 on the other).

  struct Chain {
    absl::Time last;
    absl::CivilDay attributed;  // day whose Total holds this chain's one count
  };

  // The double-click chains and unique-session keys that Record(event)
  // reads and may write. Keys embed the item.
  static std::vector<std::string> ChainKeys(const Event& event);
  static std::vector<std::string> UniqueKeys(const Event& event);

  void LoadChain(const std::string& key, const Chain& chain) { chains_[key] = chain; }
  // A unique key counted before: events of that session and item are not unique.
  void LoadUniqueSeen(const std::string& key) { unique_seen_.insert(key); }
  void LoadRequestId(const std::string& request_id) { request_ids_.insert(request_id); }

  const absl::flat_hash_map<std::string, Chain>& chains() const { return chains_; }
  // Unique keys first counted by this engine, in order.
  const std::vector<std::string>& new_unique_keys() const { return new_unique_keys_; }
  const std::map<std::pair<std::string, absl::CivilDay>, Counts>& by_day() const { return by_day_; }

 private:
  bool MarkUnique(const std::string& key);

  // Applies the double-click filter to one Total metric; true if counted.
  bool CountTotal(const std::string& key, absl::Time time, const std::string& item,
                  int64_t Counts::*metric);

  std::shared_ptr<const RobotFilter> robots_;
  absl::flat_hash_set<std::string> request_ids_;
  absl::flat_hash_map<std::string, Chain> chains_;
  absl::flat_hash_set<std::string> unique_seen_;
  std::vector<std::string> new_unique_keys_;
  std::map<std::pair<std::string, absl::CivilDay>, Counts> by_day_;
};

}  // namespace thesis::domain::counter

#endif  // THESIS_SERVER_DOMAIN_COUNTER_H_
