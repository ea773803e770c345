// The query language of SearchTheses (issue 6), parsed into a tree that the
// search backend evaluates. Pure functions and values: no gRPC, no SQL.
//
// Syntax, as a reader expects it from a web search box:
//   电子政务 governance        words: every one must match (implicit AND)
//   "big data"               a phrase: its tokens in this order, adjacent
//   -survey  -"case study"   excluded: records matching it are dropped
//   a OR b                   either; OR binds tighter than the implicit AND,
//                            so `a b OR c` is a AND (b OR c)
//   title:电子政务           a field scope on the next word or phrase:
//   author:  advisor:        title, author, advisor, keyword, institution;
//   keyword: institution:    -title:x excludes; a space after the colon is
//                            allowed (`title: "big data"`)
//   class:TP3                a Chinese Library Classification prefix: the
//                            class and everything below it (normalized with
//                            clc::NormalizeClc: `class:ｔｐ３`, `class:TP3*`)
// Grammar (whitespace separates; a `"` also ends a word):
//   query   := clause+                         AND of the clauses
//   clause  := term ( "OR" term )*             OR of the terms
//   term    := ["-"] [scope ":"] ( word | phrase )
//   phrase  := '"' any characters but '"' '"'
// `OR` is the operator only in upper case and standing alone (`or` is a
// word, `-OR` excludes it). Full-width forms are the same as ASCII ones
// (`＂`, `：`, `－`, `ＯＲ`, full-width letters, U+3000), and curly double
// quotes (“ ”) are quotes. A word with nothing to search for (`&`, `-`, `--`,
// `——` between words, as pasted titles have them) is ignored; a phrase, a
// scoped word or an OR'ed word with nothing to search for is an error.
//
// A word and a phrase both match their tokens (search_text.h) at their
// relative positions: 电子政务 needs its three bigrams adjacent, COVID-19 needs
// covid followed by 19. A phrase is how several words are made to stand
// together; it is stemmed like words are ("network governance" matches
// "networks governing").
//
// Errors are INVALID_ARGUMENT with the message `position N: what is wrong`,
// N the 1-based position in characters (code points; an invalid UTF-8 byte
// counts as one) of the original query; the same position and message are
// in the status payload (ParseErrorOf), for google.rpc.BadRequest.
#ifndef THESIS_SERVER_DOMAIN_SEARCH_QUERY_H_
#define THESIS_SERVER_DOMAIN_SEARCH_QUERY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/search_text.h"

namespace thesis::domain::search {

inline constexpr int kMaxQueryChars = 1000;
inline constexpr int kMaxQueryTerms = 32;

enum class Field {
  kAll,  // titles, abstracts, keywords, authors, advisors and institution
  kTitle,
  kAuthor,
  kAdvisor,
  kKeyword,
  kInstitution,
  kClass,  // only with Term::Kind::kClassPrefix
};

// `title`, `author`, ...; "" for kAll.
absl::string_view FieldName(Field field);

struct Term {
  enum class Kind {
    kWord,
    kPhrase,
    kClassPrefix,  // class:...: class_prefix set, tokens empty
  };

  Field field = Field::kAll;
  bool negated = false;
  Kind kind = Kind::kWord;
  // As written, without the `-`, the scope and the quotes (full-width forms
  // and all): `-title:"Big Data"` -> `Big Data`.
  std::string raw;
  // Analyze(raw): positions from 0. Never empty for a word or a phrase.
  std::vector<Token> tokens;
  // kClassPrefix: NormalizeClc(raw) without a trailing `*`: `TP3`.
  std::string class_prefix;
  // 1-based position of the term (its `-`, scope or opening quote) in the
  // query.
  int position = 0;
};

// Terms of which at least one must match. A clause of an excluded term has
// that term only (an excluded term cannot be OR'ed).
struct Clause {
  std::vector<Term> any_of;
};

// Clauses that must all match; at least one is not excluded.
struct Query {
  std::vector<Clause> clauses;
};

// Where and what the problem of a query is: `message` without the
// `position N: ` prefix of the status message.
struct ParseError {
  int position = 0;
  std::string message;
};

// Type URL of the payload that carries a ParseError on a parse failure.
inline constexpr char kParseErrorTypeUrl[] = "type.thesis.v1/thesis.search.QueryParseError";

absl::StatusOr<Query> ParseQuery(absl::string_view query);

// The ParseError carried by a status from ParseQuery; nullopt for any other
// status.
std::optional<ParseError> ParseErrorOf(const absl::Status& status);

// The query written back in canonical syntax (single spaces, ASCII
// operators, lower-case scopes, `class:` with the normalized prefix, ignored
// words left out); parsing it gives the same tree.
std::string ToQueryString(const Query& query);

// The tree with its tokens, for tests:
// `AND(title:phrase(big data)[big@0 data@1], OR(word(a)[a@0], word(b)[b@0]),
//      -class:prefix(TP3))`.
std::string DebugString(const Query& query);
std::string DebugString(const Term& term);

}  // namespace thesis::domain::search

#endif  // THESIS_SERVER_DOMAIN_SEARCH_QUERY_H_
