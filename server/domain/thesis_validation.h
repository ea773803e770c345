// Validation of thesis records and of the identifiers that name them.
// Pure functions: no gRPC, no SQL.
#ifndef THESIS_SERVER_DOMAIN_THESIS_VALIDATION_H_
#define THESIS_SERVER_DOMAIN_THESIS_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/errors.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain {

inline constexpr char kThesisCollection[] = "theses/";

// Limits, in bytes of UTF-8 unless said otherwise.
inline constexpr size_t kMaxIdLength = 63;
inline constexpr size_t kMaxTitleBytes = 2048;
inline constexpr size_t kMaxNameBytes = 256;  // person, institution, discipline
inline constexpr size_t kMaxAbstractBytes = 128 * 1024;
inline constexpr size_t kMaxKeywordBytes = 256;
inline constexpr size_t kMaxKeywords = 100;
inline constexpr size_t kMaxAuthors = 50;
inline constexpr size_t kMaxAdvisors = 20;
inline constexpr size_t kMaxClassificationCodes = 20;
inline constexpr size_t kMaxClassificationCodeBytes = 32;
inline constexpr size_t kMaxUrlBytes = 2048;
inline constexpr size_t kMaxShortFieldBytes = 128;  // source ids, issue, language
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2100;

// True when `s` is well-formed UTF-8 without NUL characters.
bool IsValidText(absl::string_view s);

// `id` of `theses/{id}`: 1-63 of [a-z0-9-], not starting or ending with '-'.
bool IsValidThesisId(absl::string_view id);

// Parses `theses/{id}`; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> ParseThesisName(absl::string_view name, absl::string_view field);
std::string ThesisName(absl::string_view id);

// The Chinese name of a degree level, as CNKI writes it (学士, 硕士, 博士,
// 专业硕士, 专业博士, 博士后, 其他); "" for UNSPECIFIED.
absl::string_view DegreeLevelName(thesis::v1::DegreeLevel level);

// CLC notation as written on a record: `D630`, `TP311.13`, `B-4`, `R73-3`,
// `Q959.212+.2`, `B31/39`.
bool IsValidClassificationCode(absl::string_view code);

// Appends a violation for every problem of a thesis's writable fields;
// `prefix` goes before each field path (for example "thesis.").
void ValidateThesis(const thesis::v1::Thesis& thesis, absl::string_view prefix,
                    std::vector<FieldViolation>* violations);

// Optional request_id: empty or at most kMaxRequestIdBytes of printable ASCII.
void ValidateRequestId(absl::string_view request_id, absl::string_view field,
                       std::vector<FieldViolation>* violations);

// Clears output-only fields (name, times, etag).
void ClearOutputOnlyFields(thesis::v1::Thesis* thesis);

}  // namespace thesis::domain

#endif  // THESIS_SERVER_DOMAIN_THESIS_VALIDATION_H_
