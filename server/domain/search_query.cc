#include "server/domain/search_query.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/clc_notation.h"

namespace thesis::domain::search {
namespace {

constexpr char kKnownFields[] =
    "title:, author:, advisor:, keyword:, institution: and class: (put text with a colon in "
    "quotes to search for it)";

struct FieldEntry {
  absl::string_view name;
  Field field;
};
constexpr FieldEntry kFields[] = {
    {"title", Field::kTitle},
    {"author", Field::kAuthor},
    {"advisor", Field::kAdvisor},
    {"keyword", Field::kKeyword},
    {"institution", Field::kInstitution},
    {"class", Field::kClass},
};

// One character of the query: its syntax form (full-width forms, U+3000,
// U+00A0 and curly double quotes mapped to ASCII; an invalid byte is U+FFFD)
// and where it is in the query's bytes.
struct Char {
  char32_t c;
  size_t begin;
  size_t end;
};

std::vector<Char> Decode(absl::string_view query) {
  std::vector<Char> chars;
  chars.reserve(query.size());
  for (size_t i = 0; i < query.size();) {
    char32_t c = 0;
    size_t n = DecodeUtf8(query, i, &c);
    if (n == 0) {
      c = 0xFFFD;
      n = 1;
    }
    if (c >= 0xFF01 && c <= 0xFF5E) {
      c -= 0xFEE0;
    } else if (c == 0x3000 || c == 0xA0) {
      c = ' ';
    } else if (c == 0x201C || c == 0x201D) {
      c = '"';
    }
    chars.push_back({c, i, i + n});
    i += n;
  }
  return chars;
}

bool IsSpace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsAsciiLetter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

absl::Status Error(int position, absl::string_view message) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat("position ", position, ": ", message));
  status.SetPayload(kParseErrorTypeUrl, absl::Cord(absl::StrCat(position, "\n", message)));
  return status;
}

// A CLC prefix: a letter, then letters, digits and the notation's `.`, `-`
// and `+` (the class is matched by prefix, so brackets, ranges and
// auxiliary parts do not belong in it).
bool IsClassPrefix(absl::string_view prefix) {
  if (prefix.empty() || !absl::ascii_isupper(static_cast<unsigned char>(prefix[0]))) return false;
  for (char c : prefix) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '+') {
      return false;
    }
  }
  return true;
}

class Parser {
 public:
  explicit Parser(absl::string_view query) : query_(query) {}

  absl::StatusOr<Query> Parse();

 private:
  // A term as lexed.
  struct Lexeme {
    int position = 0;
    Term term;
    // A bare word (excluded or not) with no tokens: ignored when it stands
    // alone, an error next to OR.
    bool ignorable = false;
  };

  int Position(size_t index) const { return static_cast<int>(index) + 1; }
  char32_t At(size_t index) const { return chars_[index].c; }
  // The query's bytes of chars_[from, to).
  absl::string_view Span(size_t from, size_t to) const {
    if (from >= to) return {};
    return query_.substr(chars_[from].begin, chars_[to - 1].end - chars_[from].begin);
  }
  // One past the word starting at `from`: a word ends at a space or a quote.
  size_t WordEnd(size_t from) const {
    size_t to = from;
    while (to < chars_.size() && !IsSpace(At(to)) && At(to) != '"') ++to;
    return to;
  }
  bool IsOr(size_t from, size_t to) const {
    return to - from == 2 && At(from) == 'O' && At(from + 1) == 'R';
  }
  // Lexes the term starting at i_ (not a space, not an OR).
  absl::Status LexTerm(Lexeme* lexeme);
  // Errors for an OR'ed term: excluded, or nothing to search for.
  static absl::Status CheckOrOperand(const Lexeme& lexeme);

  absl::string_view query_;
  std::vector<Char> chars_;
  size_t i_ = 0;
};

absl::Status NothingToSearch(const Term& term) {
  const bool phrase = term.kind == Term::Kind::kPhrase;
  return Error(term.position,
               absl::StrCat(phrase ? "phrase \"" : "`", term.raw, phrase ? "\"" : "`",
                            " has nothing to search for (no letters, digits or Chinese "
                            "characters)"));
}

absl::Status Parser::CheckOrOperand(const Lexeme& lexeme) {
  if (lexeme.term.negated) {
    return Error(lexeme.position,
                 "an excluded term cannot be combined with OR (exclude it outside the OR)");
  }
  if (lexeme.ignorable) return NothingToSearch(lexeme.term);
  return absl::OkStatus();
}

absl::Status Parser::LexTerm(Lexeme* lexeme) {
  const size_t n = chars_.size();
  Term& term = lexeme->term;
  lexeme->position = term.position = Position(i_);
  // `-` excludes when something follows it; alone it is punctuation.
  if (At(i_) == '-' && i_ + 1 < n && !IsSpace(At(i_ + 1))) {
    term.negated = true;
    ++i_;
  }
  bool scoped = false;
  size_t letters_end = i_;
  while (letters_end < n && IsAsciiLetter(At(letters_end))) ++letters_end;
  if (letters_end > i_ && letters_end < n && At(letters_end) == ':') {
    std::string name;
    for (size_t k = i_; k < letters_end; ++k) {
      name.push_back(absl::ascii_tolower(static_cast<unsigned char>(At(k))));
    }
    const FieldEntry* entry = nullptr;
    for (const FieldEntry& e : kFields) {
      if (e.name == name) entry = &e;
    }
    const int scope_position = Position(i_);
    if (entry != nullptr) {
      scoped = true;
      term.field = entry->field;
      i_ = letters_end + 1;
      while (i_ < n && IsSpace(At(i_))) ++i_;
      if (i_ == n) {
        return Error(scope_position,
                     absl::StrCat("`", entry->name, ":` has no word or phrase after it"));
      }
      if (At(i_) == '-') {
        return Error(Position(i_),
                     absl::StrCat("put `-` before the field to exclude: `-", entry->name, ":...`"));
      }
      if (IsOr(i_, WordEnd(i_))) {
        return Error(scope_position, absl::StrCat("`", entry->name,
                                                  ":` is followed by OR, not by a word or phrase"));
      }
    } else if (letters_end + 1 < n && !IsSpace(At(letters_end + 1))) {
      return Error(scope_position,
                   absl::StrCat("unknown field `", name, ":`; the fields are ", kKnownFields));
    }
    // Otherwise (`Governance: a study`) the colon is punctuation of a word.
  }

  if (At(i_) == '"') {
    const size_t open = i_;
    size_t close = open + 1;
    while (close < n && At(close) != '"') ++close;
    if (close == n) return Error(Position(open), "unclosed quote: the phrase has no closing \"");
    bool blank = true;
    for (size_t k = open + 1; k < close && blank; ++k) blank = IsSpace(At(k));
    if (blank) return Error(Position(open), "empty phrase");
    term.kind = Term::Kind::kPhrase;
    term.raw = std::string(Span(open + 1, close));
    i_ = close + 1;
  } else {
    const size_t end = WordEnd(i_);
    term.raw = std::string(Span(i_, end));
    i_ = end;
  }

  if (term.field == Field::kClass) {
    term.kind = Term::Kind::kClassPrefix;
    std::string prefix = clc::NormalizeClc(term.raw);
    if (!prefix.empty() && prefix.back() == '*') prefix.pop_back();
    if (!IsClassPrefix(prefix)) {
      return Error(term.position,
                   absl::StrCat("`class:` needs the start of a Chinese Library Classification "
                                "code, such as TP3 or D63, not `",
                                term.raw, "`"));
    }
    term.class_prefix = std::move(prefix);
    return absl::OkStatus();
  }
  term.tokens = Analyze(term.raw);
  if (term.tokens.empty()) {
    // A phrase or a scoped word was written to be searched for; a bare word
    // (`&`, `--`) is punctuation.
    if (scoped || term.kind == Term::Kind::kPhrase) return NothingToSearch(term);
    lexeme->ignorable = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<Query> Parser::Parse() {
  // Counted before anything is built, so that a huge query costs one scan.
  size_t count = 0;
  for (size_t i = 0; i < query_.size(); ++count) {
    char32_t c = 0;
    const size_t length = DecodeUtf8(query_, i, &c);
    i += length == 0 ? 1 : length;
  }
  if (count > static_cast<size_t>(kMaxQueryChars)) {
    return Error(kMaxQueryChars + 1, absl::StrCat("the query is too long: ", count,
                                                  " characters, at most ", kMaxQueryChars));
  }
  chars_ = Decode(query_);
  const size_t n = chars_.size();
  // The clauses as lexed, ignorable words included (dropped at the end, so
  // that an OR next to one is still seen).
  std::vector<std::vector<Lexeme>> groups;
  bool after_or = false;
  int or_position = 0;
  int terms = 0;
  while (true) {
    while (i_ < n && IsSpace(At(i_))) ++i_;
    if (i_ == n) break;
    const size_t end = WordEnd(i_);
    if (IsOr(i_, end)) {
      const int position = Position(i_);
      if (groups.empty()) return Error(position, "OR has no term before it");
      if (after_or) return Error(position, "OR follows OR: a term must stand between them");
      absl::Status status = CheckOrOperand(groups.back().back());
      if (!status.ok()) return status;
      after_or = true;
      or_position = position;
      i_ = end;
      continue;
    }
    if (++terms > kMaxQueryTerms) {
      return Error(Position(i_), absl::StrCat("too many terms: at most ", kMaxQueryTerms));
    }
    Lexeme lexeme;
    absl::Status status = LexTerm(&lexeme);
    if (!status.ok()) return status;
    if (after_or) {
      status = CheckOrOperand(lexeme);
      if (!status.ok()) return status;
      groups.back().push_back(std::move(lexeme));
      after_or = false;
    } else {
      groups.push_back({});
      groups.back().push_back(std::move(lexeme));
    }
  }
  if (after_or) return Error(or_position, "OR has no term after it");
  if (groups.empty()) return Error(1, "empty query");

  Query query;
  int first_excluded = 0;
  bool positive = false;
  for (std::vector<Lexeme>& group : groups) {
    if (group.size() == 1 && group[0].ignorable) continue;
    Clause clause;
    for (Lexeme& lexeme : group) clause.any_of.push_back(std::move(lexeme.term));
    if (clause.any_of[0].negated) {
      if (first_excluded == 0) first_excluded = clause.any_of[0].position;
    } else {
      positive = true;
    }
    query.clauses.push_back(std::move(clause));
  }
  if (query.clauses.empty()) {
    return Error(1,
                 "nothing to search for: the query has no letters, digits or Chinese characters");
  }
  if (!positive) {
    return Error(first_excluded, "the query only excludes: add a word or phrase to search for");
  }
  return query;
}

}  // namespace

absl::string_view FieldName(Field field) {
  for (const FieldEntry& e : kFields) {
    if (e.field == field) return e.name;
  }
  return "";
}

absl::StatusOr<Query> ParseQuery(absl::string_view query) { return Parser(query).Parse(); }

std::optional<ParseError> ParseErrorOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kParseErrorTypeUrl);  // absl::optional here
  if (!payload) return std::nullopt;
  const std::string text(*payload);
  const size_t newline = text.find('\n');
  ParseError error;
  if (newline == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(text).substr(0, newline), &error.position)) {
    return std::nullopt;
  }
  error.message = text.substr(newline + 1);
  return error;
}

std::string ToQueryString(const Query& query) {
  std::vector<std::string> clauses;
  for (const Clause& clause : query.clauses) {
    std::vector<std::string> terms;
    for (const Term& term : clause.any_of) {
      std::string out = term.negated ? "-" : "";
      if (term.field != Field::kAll) absl::StrAppend(&out, FieldName(term.field), ":");
      switch (term.kind) {
        case Term::Kind::kWord:
          absl::StrAppend(&out, term.raw);
          break;
        case Term::Kind::kPhrase:
          absl::StrAppend(&out, "\"", term.raw, "\"");
          break;
        case Term::Kind::kClassPrefix:
          absl::StrAppend(&out, term.class_prefix);
          break;
      }
      terms.push_back(std::move(out));
    }
    clauses.push_back(absl::StrJoin(terms, " OR "));
  }
  return absl::StrJoin(clauses, " ");
}

std::string DebugString(const Term& term) {
  std::string out = term.negated ? "-" : "";
  if (term.field != Field::kAll) absl::StrAppend(&out, FieldName(term.field), ":");
  switch (term.kind) {
    case Term::Kind::kWord:
      absl::StrAppend(&out, "word(", term.raw, ")");
      break;
    case Term::Kind::kPhrase:
      absl::StrAppend(&out, "phrase(", term.raw, ")");
      break;
    case Term::Kind::kClassPrefix:
      absl::StrAppend(&out, "prefix(", term.class_prefix, ")");
      break;
  }
  if (!term.tokens.empty()) absl::StrAppend(&out, "[", DebugString(term.tokens), "]");
  return out;
}

std::string DebugString(const Query& query) {
  std::vector<std::string> clauses;
  for (const Clause& clause : query.clauses) {
    if (clause.any_of.size() == 1) {
      clauses.push_back(DebugString(clause.any_of[0]));
      continue;
    }
    std::vector<std::string> terms;
    for (const Term& term : clause.any_of) terms.push_back(DebugString(term));
    clauses.push_back(absl::StrCat("OR(", absl::StrJoin(terms, ", "), ")"));
  }
  return absl::StrCat("AND(", absl::StrJoin(clauses, ", "), ")");
}

}  // namespace thesis::domain::search
