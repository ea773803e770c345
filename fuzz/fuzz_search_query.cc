// libFuzzer target for the search query parser (server/domain/search_query.h)
// and the text analysis under it (search_text.h). Besides not crashing, it
// checks that:
//   - an error is INVALID_ARGUMENT carrying a ParseError whose position is a
//     character of the query (1 for an empty one) and whose message is the
//     status message without its `position N: ` prefix;
//   - a parsed query has what the header promises (a clause that is not an
//     exclusion, exclusions alone in their clause, tokens for every word and
//     phrase, a prefix for every class term, at most kMaxQueryTerms terms),
//     and its canonical form parses to the same tree;
//   - NormalizeText gives valid UTF-8, and Tokenize's tokens are in order,
//     inside the text and (for Chinese and digits) the text they cover.
// The seed corpus is whole files (fuzz/run.sh), mostly above the 1,000
// character limit, so each line of a long input is parsed as well: CNKI
// titles and keywords are good queries.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/domain/search_query.h"
#include "server/domain/search_text.h"

// Aborts naming the broken invariant, so that a crash report says which.
#define CHECK_INVARIANT(ok)                                                     \
  do {                                                                          \
    if (!(ok)) {                                                                \
      std::fprintf(stderr, "invariant broken at line %d: %s\n", __LINE__, #ok); \
      std::abort();                                                             \
    }                                                                           \
  } while (false)

namespace {

namespace s = thesis::domain::search;

// Characters as the parser counts them: an invalid byte is one.
int CountChars(absl::string_view text) {
  int count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    char32_t c = 0;
    const size_t n = s::DecodeUtf8(text, i, &c);
    i += n == 0 ? 1 : n;
  }
  return count;
}

bool IsValidUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    const size_t n = s::DecodeUtf8(text, i, &c);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void CheckTokens(absl::string_view text, const std::vector<s::Token>& tokens) {
  int last = -1;
  for (const s::Token& t : tokens) {
    // Every token has a position of its own: bigrams of a run step by one.
    CHECK_INVARIANT(t.position > last);
    CHECK_INVARIANT(t.begin < t.end && t.end <= text.size());
    CHECK_INVARIANT(!t.text.empty());
    if (t.kind != s::TokenKind::kLatinStem) {
      CHECK_INVARIANT(text.substr(t.begin, t.end - t.begin) == t.text);
    }
    last = t.position;
  }
}

void CheckQuery(absl::string_view input) {
  const absl::StatusOr<s::Query> parsed = s::ParseQuery(input);
  if (!parsed.ok()) {
    CHECK_INVARIANT(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    const std::optional<s::ParseError> error = s::ParseErrorOf(parsed.status());
    CHECK_INVARIANT(error.has_value());
    const int chars = CountChars(input);
    CHECK_INVARIANT(error->position >= 1);
    CHECK_INVARIANT(error->position <= (chars == 0 ? 1 : chars));
    CHECK_INVARIANT(!error->message.empty());
    CHECK_INVARIANT(parsed.status().message() ==
                    absl::StrCat("position ", error->position, ": ", error->message));
    return;
  }
  const s::Query& query = *parsed;
  CHECK_INVARIANT(!query.clauses.empty());
  bool positive = false;
  int terms = 0;
  for (const s::Clause& clause : query.clauses) {
    CHECK_INVARIANT(!clause.any_of.empty());
    for (const s::Term& term : clause.any_of) {
      ++terms;
      CHECK_INVARIANT(!term.negated || clause.any_of.size() == 1);
      if (term.kind == s::Term::Kind::kClassPrefix) {
        CHECK_INVARIANT(term.field == s::Field::kClass);
        CHECK_INVARIANT(!term.class_prefix.empty() && term.tokens.empty());
      } else {
        CHECK_INVARIANT(term.field != s::Field::kClass);
        CHECK_INVARIANT(!term.tokens.empty() && term.tokens[0].position == 0);
      }
    }
    positive = positive || !clause.any_of[0].negated;
  }
  CHECK_INVARIANT(positive);
  CHECK_INVARIANT(terms <= s::kMaxQueryTerms);

  // The canonical form can be longer than the query (`a"b"` -> `a "b"`);
  // past the limit it is rightly refused.
  const std::string canonical = s::ToQueryString(query);
  if (CountChars(canonical) > s::kMaxQueryChars) return;
  const absl::StatusOr<s::Query> again = s::ParseQuery(canonical);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical form %s does not parse: %s\n", canonical.c_str(),
                 std::string(again.status().message()).c_str());
  }
  CHECK_INVARIANT(again.ok());
  CHECK_INVARIANT(s::DebugString(*again) == s::DebugString(query));
  CHECK_INVARIANT(s::ToQueryString(*again) == canonical);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckQuery(input);
  if (size > 1200) {
    int lines = 0;
    for (absl::string_view line : absl::StrSplit(input, '\n')) {
      if (++lines > 64) break;
      CheckQuery(line);
    }
  }
  // The first 8 KiB (cut anywhere, even inside a character) are text
  // enough: OpenCC converts some 7 MB/s, and 64 KiB inputs would make the
  // parser, the point of this target, run a few dozen times a second.
  const absl::string_view text = input.substr(0, 8192);
  const std::string normalized = s::NormalizeText(text);
  CHECK_INVARIANT(IsValidUtf8(normalized));
  CheckTokens(normalized, s::Tokenize(normalized));
  // Tokenize takes any text, not only normalized text.
  CheckTokens(text, s::Tokenize(text));
  return 0;
}
