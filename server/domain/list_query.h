// ListTheses queries: the filter language, order_by, and keyset cursors.
#ifndef THESIS_SERVER_DOMAIN_LIST_QUERY_H_
#define THESIS_SERVER_DOMAIN_LIST_QUERY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// Conditions ANDed together; an unset member does not filter.
struct ThesisFilter {
  std::optional<std::string> institution;
  std::optional<std::string> discipline;
  std::optional<std::string> author;
  std::optional<std::string> advisor;
  std::optional<int> degree_level;
  std::optional<int> year_min;  // inclusive
  std::optional<int> year_max;  // inclusive
  // classification_code = "X": any code equal to X, or starting with X when
  // class_code_is_prefix.
  std::optional<std::string> class_code;
  bool class_code_is_prefix = false;
};

enum class OrderKey { kCreateTime, kDegreeYear, kTitle };

// A position in the sort order: the key of a row and its id.
struct SortPosition {
  std::variant<int64_t, std::string> key;
  std::string id;
};

struct ListQuery {
  ThesisFilter filter;
  OrderKey order_key = OrderKey::kCreateTime;
  bool descending = false;
  int page_size = kDefaultPageSize;
  // Return rows strictly after this position.
  std::optional<SortPosition> after;
};

// Parses the AIP-160 subset documented on ListThesesRequest.filter.
absl::StatusOr<ThesisFilter> ParseThesisFilter(absl::string_view filter);
// Parses `degree_year`, `create_time desc`, `title`, ...; empty is create_time.
absl::Status ParseOrderBy(absl::string_view order_by, ListQuery* query);
// 0 -> default, above the cap -> cap, negative -> INVALID_ARGUMENT.
absl::StatusOr<int> NormalizePageSize(int page_size);

bool MatchesFilter(const ThesisFilter& filter, const thesis::v1::Thesis& thesis);
// The title used for ordering: title_zh, or title_en when there is none.
const std::string& SortTitle(const thesis::v1::Thesis& thesis);
SortPosition PositionOf(const thesis::v1::Thesis& thesis, absl::string_view id, OrderKey key);
// <0, 0, >0 in ascending order of (key, id).
int ComparePositions(const SortPosition& a, const SortPosition& b);

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_LIST_QUERY_H_
