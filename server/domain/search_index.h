// The search index of a record and the compiled form of a query (issue 6,
// docs/search.md): the PostgreSQL `tsvector` text of a thesis, the `tsquery`
// text of a parsed query, the same match evaluated in memory (for the memory
// backend) and the highlighted snippet of a result. Pure functions: no SQL
// is executed here, no gRPC.
//
// The index, as lexemes at positions with a weight:
//   title_zh, title_en          tokens, weight A
//   keywords_zh, keywords_en    tokens, weight B, every keyword on its own
//   authors                     `au|` + token, and `au|` + the whole name,
//   advisors                    `ad|` ..., weight D, every name on its own,
//   institution                 `in|` ...; each name also as plain tokens,
//                               weight D, at a range of its own
//   abstract_zh, abstract_en    tokens, weight C
// in this order, each value (a title, a keyword, a name, an abstract) at its
// own range of positions with a gap after it, so that no phrase of a query
// (whose tokens are at most two positions apart) can run from one value into
// the next. Names come before the abstracts because positions end at 16,383
// (PostgreSQL's limit, tokens further on are clamped to it): a very long
// abstract may lose phrases at its end, never the names.
//
// The name lexemes are tagged rather than weighted because weights are only
// four (A..D): `author:` and `advisor:` must be told apart, and the tag does
// that without costing the abstract its own weight.
//
// Query terms, compiled (CompileTsQuery) and evaluated (Matches) alike:
//   a word or a phrase    its tokens as one chain: `'电子' <-> '子政' <-> '政务'`
//                         (`<2>` where the tokens are two positions apart, as
//                         after a bigram: 5G网络 = `'5' <-> 'g' <-> '网络'`);
//   unscoped              the plain chain (any weight: titles, keywords,
//                         abstracts and the plain copies of the names):
//                         every token of the chain must come, by the
//                         position gaps, from the same value, so 电子政务 does
//                         not match a title ending in 电子 and an author
//                         starting with 政务. One chain, not an OR of the
//                         plain and the tagged ones: PostgreSQL's GIN scan
//                         rechecks every candidate row of an OR with a
//                         lexeme no record has (5,116 rows: 93 ms instead
//                         of 12 ms);
//   title: / keyword:     the plain chain with every lexeme restricted to
//                         weight A / B;
//   author: advisor:      the `au|` / `ad|` / `in|` chain;
//   institution:
//   -term                 `!( ... )`;
//   a OR b, clauses       `|`, `&`;
//   class:TP3             not in the tsquery: a CLC prefix that one of the
//                         record's classification_codes (normalized) starts
//                         with, returned as a filter for the SQL `WHERE`.
#ifndef THESIS_SERVER_DOMAIN_SEARCH_INDEX_H_
#define THESIS_SERVER_DOMAIN_SEARCH_INDEX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/search_query.h"
#include "thesis/v1/thesis.pb.h"

namespace thesis::domain::search {

// PostgreSQL's limits on a tsvector: positions 1..16383, at most 256
// positions per lexeme (it keeps the lowest).
inline constexpr int kMaxIndexPosition = 16383;
inline constexpr int kMaxPositionsPerLexeme = 256;

// The record's classification_codes normalized (clc::NormalizeClc), in
// order, empty ones left out: what class: terms and the top-level class
// facet look at.
std::vector<std::string> NormalizedCodes(const thesis::v1::Thesis& thesis);

// The version of what IndexDocument, IndexHeadDocument and the normalized
// codes make of a record. Stored with each row's index; `thesis-server
// migrate` indexes again every row of an older version, so raise it with any
// change to tokenization, normalization or the document layout.
inline constexpr int kSearchIndexVersion = 1;

// The `tsvector` input text of a record: `'lexeme':1A,2A 'other':7B ...`,
// lexemes sorted, each once, quotes doubled and backslashes escaped. Cast it
// with `::tsvector` (not to_tsvector: the tokens are ours, not a parser's).
// Empty for a record with no text.
std::string IndexDocument(const thesis::v1::Thesis& thesis);

// The titles and keywords of IndexDocument's text only (weights A and B, at
// the same positions): a small tsvector that relevance ranking can read for
// every match without reading the abstracts.
std::string IndexHeadDocument(const thesis::v1::Thesis& thesis);

// What a storage backend keeps of a record for search, computed at once.
// With `binary`, also the two documents in PostgreSQL's binary tsvector
// format (what tsvectorsend writes and tsvectorrecv reads: int32 count of
// lexemes, then each lexeme's bytes, a NUL, a uint16 count of positions and
// the positions as uint16, weight in the top two bits, all big-endian), for
// COPY ... (FORMAT binary), which spares the database parsing the text.
struct IndexedRecord {
  std::string doc;                 // IndexDocument
  std::string head;                // IndexHeadDocument
  std::vector<std::string> codes;  // NormalizedCodes
  std::string doc_binary;          // with `binary` only
  std::string head_binary;         // with `binary` only
};
IndexedRecord IndexRecord(const thesis::v1::Thesis& thesis, bool binary = false);

// A clause of a query that has class: terms in it: a record satisfies it when
// one of its codes starts with one of `class_prefixes`, or, when `tsquery` is
// not empty (the clause also ORs text terms: `class:TP3 OR 电子政务`), when its
// document matches `tsquery`.
struct ClassFilter {
  std::vector<std::string> class_prefixes;
  std::string tsquery;
};

// A query as the PostgreSQL backend runs it:
//   WHERE doc @@ tsquery::tsquery                     (when tsquery is set)
//     AND (codes start with one of filter.class_prefixes
//          OR doc @@ filter.tsquery::tsquery)          (for each filter)
//     AND no code starts with any of excluded_class_prefixes
struct CompiledQuery {
  // The clauses without class: terms, ANDed; empty when there are none (a
  // query of class: terms only).
  std::string tsquery;
  std::vector<ClassFilter> class_filters;
  std::vector<std::string> excluded_class_prefixes;
};

// Never fails for what ParseQuery returns; INVALID_ARGUMENT for a tree it
// cannot have made (a clause without terms, a word without tokens, an
// excluded term in an OR).
absl::StatusOr<CompiledQuery> CompileTsQuery(const Query& query);

// For ranking "exact phrase above scattered terms": when the query is two or
// more unscoped words or phrases ANDed (exclusions and class: terms aside),
// the tsquery of all of them as one phrase, in order (`big data governance`
// -> the phrase "big data governance"); "" otherwise (one term, an OR, a
// scope).
std::string PhraseTsQuery(const Query& query);

// Relevance, the same in both backends: a score that is the sum of
//   kTitleScore    every clause of the query that can match a title does, in
//                  a title (title_zh or title_en);
//   kKeywordScore  the same in a keyword;
//   kPhraseScore   the query's words occur as one exact phrase (PhraseTsQuery)
//                  anywhere;
// so a title match ranks above a keyword match, which ranks above a match in
// the abstract (or names) only, and within each the exact phrase first.
// Ties are broken by id.
inline constexpr int kTitleScore = 4;
inline constexpr int kKeywordScore = 2;
inline constexpr int kPhraseScore = 1;

// The three conditions of the score as tsqueries: `title` and `keywords`
// are evaluated on IndexHeadDocument's tsvector, `phrase` on
// IndexDocument's; "" is never true.
struct RankQueries {
  std::string title;
  std::string keywords;
  std::string phrase;
};
RankQueries CompileRankQueries(const Query& query);

// The score of a record, in memory, as the RankQueries give it in
// PostgreSQL.
int RelevanceScore(const Query& query, const thesis::v1::Thesis& thesis);

// True when the record matches the query, exactly as CompileTsQuery's
// conditions on IndexDocument's text do in PostgreSQL (same lexemes, same
// positions and their limits, same weights). False for a query
// CompileTsQuery rejects.
bool Matches(const Query& query, const thesis::v1::Thesis& thesis);

// Where a snippet comes from.
enum class SnippetField { kNone, kTitle, kKeywords, kAbstract };

struct SearchSnippet {
  SnippetField field = SnippetField::kNone;
  // HTML: the text (`<`, `>`, `&` and `"` escaped) with every span that
  // matched a term of the query in <em>...</em>, and `…` where it was cut.
  std::string html;
};

// The snippet of a matching record: the first field, of title, keywords
// (joined with `；`) and abstract, in which a non-excluded term of the query
// that applies to it (unscoped, title: for the title, keyword: for the
// keywords) matches, a window of at most `max_chars` characters (the `…`
// marks not counted) of the value with the most matches there, centred on
// the run of matches that fits in it with the most matches. The text is the
// original one (full-width, traditional and all) whenever normalizing it
// kept one character per character, which is nearly always; otherwise the
// normalized text. kNone and no text when no such field
// matches (a record found by its author only).
SearchSnippet Snippet(const Query& query, const thesis::v1::Thesis& thesis, int max_chars = 80);

}  // namespace thesis::domain::search

#endif  // THESIS_SERVER_DOMAIN_SEARCH_INDEX_H_
