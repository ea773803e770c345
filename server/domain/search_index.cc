#include "server/domain/search_index.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/domain/clc_notation.h"
#include "server/domain/search_text.h"

namespace thesis::domain::search {
namespace {

// Weights as PostgreSQL stores them (D = 0 ... A = 3), and as bit masks for
// a query's weight restriction.
enum Weight { kWeightD = 0, kWeightC = 1, kWeightB = 2, kWeightA = 3 };
constexpr int kAnyWeight = 0xF;
constexpr int WeightBit(int weight) { return 1 << weight; }

// Positions left empty after each value. Tokens of one query term are at
// most two positions apart (a bigram and the token after it), and the last
// bigram of a value is one position before its last character, so any gap
// of one or more keeps every chain inside one value; two leaves a margin.
constexpr int kValueGap = 2;

// PostgreSQL's longest lexeme, in tsvector and tsquery alike.
constexpr size_t kMaxLexemeBytes = 2046;

constexpr absl::string_view kAuthorTag = "au|";
constexpr absl::string_view kAdvisorTag = "ad|";
constexpr absl::string_view kInstitutionTag = "in|";

struct Posting {
  int position = 0;
  int weight = kWeightD;
};

// Lexeme -> postings sorted by position, one per position, at most
// kMaxPositionsPerLexeme: what PostgreSQL keeps of our tsvector text, so that
// Matches sees exactly what `@@` sees. std::map orders like PostgreSQL
// (bytewise), which keeps IndexDocument's text canonical.
using DocIndex = std::map<std::string, std::vector<Posting>>;

class IndexBuilder {
 public:
  // Adds one value at the next free range of positions. `tag` is prefixed to
  // every lexeme; `whole_name` also adds the value's normalized text from
  // its first to its last token as one lexeme at the first token's position
  // (for names: a later exact-name ranking or filter).
  void AddValue(absl::string_view text, absl::string_view tag, int weight, bool whole_name) {
    std::string normalized = NormalizeText(text);
    std::vector<Token> tokens = Tokenize(normalized);
    if (tokens.empty()) return;
    int last_unit = 0;
    for (const Token& token : tokens) {
      Add(absl::StrCat(tag, token.text), next_ + token.position, weight);
      last_unit =
          std::max(last_unit, token.position + (token.kind == TokenKind::kHanBigram ? 1 : 0));
    }
    if (whole_name) {
      absl::string_view span =
          absl::string_view(normalized)
              .substr(tokens.front().begin, tokens.back().end - tokens.front().begin);
      Add(absl::StrCat(tag, CollapseSpaces(span)), next_ + tokens.front().position, weight);
    }
    next_ += last_unit + 1 + kValueGap;
  }

  DocIndex Finish() && {
    // Sorted, one posting per position with the highest weight, the lowest
    // 256 positions: PostgreSQL's uniquePos on tsvector input.
    for (auto& [lexeme, postings] : index_) {
      std::sort(postings.begin(), postings.end(), [](const Posting& a, const Posting& b) {
        return a.position != b.position ? a.position < b.position : a.weight > b.weight;
      });
      std::vector<Posting> unique;
      for (const Posting& p : postings) {
        if (!unique.empty() && unique.back().position == p.position) continue;
        unique.push_back(p);
        if (static_cast<int>(unique.size()) == kMaxPositionsPerLexeme) break;
      }
      postings = std::move(unique);
    }
    return std::move(index_);
  }

 private:
  static std::string CollapseSpaces(absl::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out.push_back(' ');
      space = false;
      out.push_back(c);
    }
    return out;
  }

  void Add(std::string lexeme, int position, int weight) {
    // PostgreSQL rejects the whole tsvector for one longer lexeme (pasted
    // garbage, a huge institution name): drop just that lexeme.
    if (lexeme.size() > kMaxLexemeBytes) return;
    index_[std::move(lexeme)].push_back({std::min(position, kMaxIndexPosition), weight});
  }

  int next_ = 1;  // tsvector positions start at 1
  DocIndex index_;
};

DocIndex BuildIndex(const thesis::v1::Thesis& t) {
  IndexBuilder b;
  b.AddValue(t.title_zh(), "", kWeightA, false);
  b.AddValue(t.title_en(), "", kWeightA, false);
  for (const std::string& k : t.keywords_zh()) b.AddValue(k, "", kWeightB, false);
  for (const std::string& k : t.keywords_en()) b.AddValue(k, "", kWeightB, false);
  // Names twice: tagged, for author: advisor: institution:, and plain at
  // weight D, for unscoped terms (so that an unscoped term is one plain
  // chain: a tsquery ORing lexemes that no record has makes PostgreSQL's GIN
  // scan recheck every candidate row against its stored document).
  auto names = [&b](absl::string_view name, absl::string_view tag) {
    b.AddValue(name, tag, kWeightD, true);
    b.AddValue(name, "", kWeightD, false);
  };
  for (const std::string& a : t.authors()) names(a, kAuthorTag);
  for (const std::string& a : t.advisors()) names(a, kAdvisorTag);
  names(t.institution(), kInstitutionTag);
  b.AddValue(t.abstract_zh(), "", kWeightC, false);
  b.AddValue(t.abstract_en(), "", kWeightC, false);
  return std::move(b).Finish();
}

// A lexeme quoted for tsvector and tsquery input (the same lexer reads
// both): a quote is doubled, a backslash escaped.
std::string QuoteLexeme(absl::string_view lexeme) {
  std::string out = "'";
  for (char c : lexeme) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

// One way a term can match: its tokens as lexemes (tag included) at their
// offsets from the first, each posting with a weight in weight_mask.
struct Chain {
  absl::string_view tag;  // "" for the plain (title, keyword, abstract) lexemes
  std::vector<std::pair<std::string, int>> lexemes;
  int weight_mask = kAnyWeight;
};

struct CompiledTerm {
  bool negated = false;
  std::vector<Chain> any_of;
};

struct CompiledClause {
  std::vector<CompiledTerm> terms;  // text terms
  std::vector<std::string> class_prefixes;
  bool excluded_class = false;  // -class:X: class_prefixes has X only
};

Chain MakeChain(const std::vector<Token>& tokens, absl::string_view tag, int weight_mask) {
  Chain chain;
  chain.tag = tag;
  chain.weight_mask = weight_mask;
  for (const Token& token : tokens) {
    chain.lexemes.emplace_back(absl::StrCat(tag, token.text),
                               token.position - tokens.front().position);
  }
  return chain;
}

absl::StatusOr<CompiledTerm> CompileTerm(const Term& term) {
  if (term.tokens.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("position ", term.position, ": a term without tokens"));
  }
  for (const Token& token : term.tokens) {
    // With its tag: PostgreSQL would reject the tsquery, and the index has
    // no such lexeme. Not reachable within kMaxQueryChars.
    if (token.text.size() + kAuthorTag.size() > kMaxLexemeBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "position ", term.position, ": a word longer than ", kMaxLexemeBytes - 3, " bytes"));
    }
  }
  CompiledTerm out;
  out.negated = term.negated;
  switch (term.field) {
    case Field::kAll:
      // The plain lexemes of every field (names included, at weight D): a
      // term matches inside one value of one field or not at all, by the
      // position gaps between values.
      out.any_of = {MakeChain(term.tokens, "", kAnyWeight)};
      break;
    case Field::kTitle:
      out.any_of = {MakeChain(term.tokens, "", WeightBit(kWeightA))};
      break;
    case Field::kKeyword:
      out.any_of = {MakeChain(term.tokens, "", WeightBit(kWeightB))};
      break;
    case Field::kAuthor:
      out.any_of = {MakeChain(term.tokens, kAuthorTag, kAnyWeight)};
      break;
    case Field::kAdvisor:
      out.any_of = {MakeChain(term.tokens, kAdvisorTag, kAnyWeight)};
      break;
    case Field::kInstitution:
      out.any_of = {MakeChain(term.tokens, kInstitutionTag, kAnyWeight)};
      break;
    case Field::kClass:
      return absl::InvalidArgumentError(
          absl::StrCat("position ", term.position, ": a class: term that is not a prefix"));
  }
  return out;
}

absl::StatusOr<std::vector<CompiledClause>> CompileClauses(const Query& query) {
  std::vector<CompiledClause> clauses;
  bool positive = false;
  for (const Clause& clause : query.clauses) {
    if (clause.any_of.empty()) return absl::InvalidArgumentError("a clause without terms");
    if (clause.any_of.size() > 1) {
      for (const Term& term : clause.any_of) {
        if (term.negated) {
          return absl::InvalidArgumentError(
              absl::StrCat("position ", term.position, ": an excluded term in an OR"));
        }
      }
    }
    CompiledClause out;
    for (const Term& term : clause.any_of) {
      if (term.kind == Term::Kind::kClassPrefix) {
        out.class_prefixes.push_back(term.class_prefix);
        out.excluded_class = term.negated;
      } else {
        absl::StatusOr<CompiledTerm> compiled = CompileTerm(term);
        if (!compiled.ok()) return compiled.status();
        out.terms.push_back(*std::move(compiled));
      }
    }
    if (!clause.any_of.front().negated) positive = true;
    clauses.push_back(std::move(out));
  }
  if (!positive) return absl::InvalidArgumentError("a query without a term that is not excluded");
  return clauses;
}

std::string ChainTsQuery(const Chain& chain) {
  std::string weights;
  if (chain.weight_mask != kAnyWeight) {
    for (int w = kWeightA; w >= kWeightD; --w) {
      if (chain.weight_mask & WeightBit(w)) weights.push_back("DCBA"[w]);
    }
  }
  std::string out;
  for (size_t i = 0; i < chain.lexemes.size(); ++i) {
    if (i > 0) {
      int distance = chain.lexemes[i].second - chain.lexemes[i - 1].second;
      absl::StrAppend(&out, distance == 1 ? " <-> " : absl::StrCat(" <", distance, "> "));
    }
    absl::StrAppend(&out, QuoteLexeme(chain.lexemes[i].first));
    if (!weights.empty()) absl::StrAppend(&out, ":", weights);
  }
  return out;
}

std::string TermTsQuery(const CompiledTerm& term) {
  std::vector<std::string> chains;
  for (const Chain& chain : term.any_of) {
    chains.push_back(absl::StrCat("(", ChainTsQuery(chain), ")"));
  }
  std::string any = absl::StrJoin(chains, " | ");
  return term.negated ? absl::StrCat("!(", any, ")") : absl::StrCat("(", any, ")");
}

std::string TermsTsQuery(const std::vector<CompiledTerm>& terms) {
  std::vector<std::string> parts;
  for (const CompiledTerm& term : terms) parts.push_back(TermTsQuery(term));
  return parts.size() == 1 ? parts.front() : absl::StrCat("(", absl::StrJoin(parts, " | "), ")");
}

bool HasPosting(const std::vector<Posting>& postings, int position, int weight_mask) {
  auto it = std::lower_bound(postings.begin(), postings.end(), position,
                             [](const Posting& p, int pos) { return p.position < pos; });
  return it != postings.end() && it->position == position && (weight_mask & WeightBit(it->weight));
}

// Whether `chain` has a start position in `index` at which every lexeme is
// at its offset with an allowed weight: PostgreSQL's phrase match.
bool ChainMatches(const Chain& chain, const DocIndex& index) {
  std::vector<const std::vector<Posting>*> lists;
  for (const auto& [lexeme, offset] : chain.lexemes) {
    auto it = index.find(lexeme);
    if (it == index.end()) return false;
    lists.push_back(&it->second);
  }
  for (const Posting& first : *lists.front()) {
    if (!(chain.weight_mask & WeightBit(first.weight))) continue;
    bool all = true;
    for (size_t i = 1; i < lists.size() && all; ++i) {
      all = HasPosting(*lists[i], first.position + chain.lexemes[i].second, chain.weight_mask);
    }
    if (all) return true;
  }
  return false;
}

bool TermMatches(const CompiledTerm& term, const DocIndex& index) {
  bool any = std::any_of(term.any_of.begin(), term.any_of.end(),
                         [&](const Chain& chain) { return ChainMatches(chain, index); });
  return any != term.negated;
}

bool HasClassPrefix(const std::vector<std::string>& codes, const std::string& prefix) {
  return std::any_of(codes.begin(), codes.end(),
                     [&](const std::string& code) { return absl::StartsWith(code, prefix); });
}

// --- Snippets ---

// A matched span, in characters of the display text.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// A value's text as shown: its characters (byte offsets of each, plus the
// end) and its matched spans.
struct DisplayText {
  std::string text;
  std::vector<size_t> char_starts;  // one per character, then text.size()
  std::vector<Span> spans;
  size_t chars() const { return char_starts.size() - 1; }
};

// Valid UTF-8 characters of `text` (invalid bytes dropped, as NormalizeText
// drops them) with their byte offsets in the result.
void DecodeChars(absl::string_view text, std::string* out, std::vector<size_t>* starts) {
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    size_t n = DecodeUtf8(text, i, &c);
    if (n == 0) {
      ++i;
      continue;
    }
    starts->push_back(out->size());
    out->append(text.substr(i, n).data(), n);
    i += n;
  }
}

// The token at `position`, or null. Tokenize gives tokens in strictly
// increasing position order, so a binary search finds it.
const Token* TokenAt(const std::vector<Token>& tokens, int position) {
  auto it = std::lower_bound(tokens.begin(), tokens.end(), position,
                             [](const Token& t, int p) { return t.position < p; });
  return it != tokens.end() && it->position == position ? &*it : nullptr;
}

// Where the tokens of `tokens` match `chain` (its plain lexemes; the field
// was chosen by the caller): byte ranges in the tokenized text.
void ChainSpans(const Chain& chain, const std::vector<Token>& tokens,
                std::vector<std::pair<size_t, size_t>>* out) {
  for (const Token& first : tokens) {
    if (first.text != chain.lexemes.front().first) continue;
    const Token* last = &first;
    for (size_t i = 1; i < chain.lexemes.size() && last != nullptr; ++i) {
      const Token* next = TokenAt(tokens, first.position + chain.lexemes[i].second);
      last = next != nullptr && next->text == chain.lexemes[i].first ? next : nullptr;
    }
    if (last != nullptr) out->emplace_back(first.begin, last->end);
  }
}

// A piece of a value, normalized, and where the chains match in it (byte
// ranges in the normalized text).
struct MatchedPiece {
  absl::string_view original;
  std::string normalized;
  std::vector<std::pair<size_t, size_t>> byte_spans;
};

// Whether `lexeme` is all Chinese characters: such a lexeme is a token of a
// text only if it occurs in the text as it is.
bool IsHanLexeme(absl::string_view lexeme) {
  for (size_t i = 0; i < lexeme.size();) {
    char32_t c = 0;
    const size_t n = DecodeUtf8(lexeme, i, &c);
    if (n == 0 || !IsHan(c)) return false;
    i += n;
  }
  return !lexeme.empty();
}

MatchedPiece MatchPiece(absl::string_view piece, const std::vector<const Chain*>& chains) {
  MatchedPiece matched{piece, NormalizeText(piece), {}};
  // Tokenizing is most of a snippet's cost: skip it when no chain can match
  // (the usual case for a Chinese query and an English field).
  const bool cannot_match =
      std::all_of(chains.begin(), chains.end(), [&matched](const Chain* chain) {
        const std::string& first = chain->lexemes.front().first;
        return IsHanLexeme(first) && !absl::StrContains(matched.normalized, first);
      });
  if (cannot_match) return matched;
  const std::vector<Token> tokens = Tokenize(matched.normalized);
  for (const Chain* chain : chains) ChainSpans(*chain, tokens, &matched.byte_spans);
  return matched;
}

// Appends `piece` to `display` with its spans. The spans were found in the
// normalized text; they are mapped back to the original characters when
// normalizing kept one character per character (full-width forms, case,
// traditional characters all do), else the normalized text is what is shown.
void AppendPiece(const MatchedPiece& piece, DisplayText* display) {
  std::string original;
  std::vector<size_t> original_starts;
  DecodeChars(piece.original, &original, &original_starts);
  std::string normal_text;
  std::vector<size_t> normal_starts;
  DecodeChars(piece.normalized, &normal_text, &normal_starts);
  bool mapped = original_starts.size() == normal_starts.size();
  const std::string& shown = mapped ? original : piece.normalized;
  const std::vector<size_t>& shown_starts = mapped ? original_starts : normal_starts;

  size_t base_char = display->chars();
  size_t base_byte = display->text.size();
  display->char_starts.pop_back();
  for (size_t start : shown_starts) display->char_starts.push_back(base_byte + start);
  display->text += shown;
  display->char_starts.push_back(display->text.size());
  // Byte offset in the normalized text -> character index.
  auto char_of = [&](size_t byte) {
    return static_cast<size_t>(std::lower_bound(normal_starts.begin(), normal_starts.end(), byte) -
                               normal_starts.begin());
  };
  for (const auto& [begin, end] : piece.byte_spans) {
    display->spans.push_back({base_char + char_of(begin), base_char + char_of(end)});
  }
}

void AppendSeparator(absl::string_view separator, DisplayText* display) {
  display->char_starts.pop_back();
  std::string ignored;
  std::vector<size_t> starts;
  DecodeChars(separator, &ignored, &starts);
  for (size_t start : starts) display->char_starts.push_back(display->text.size() + start);
  display->text.append(separator.data(), separator.size());
  display->char_starts.push_back(display->text.size());
}

// The value made of `pieces` as shown, with the spans of `chains`; without
// any span it is not shown, and an empty DisplayText is returned at once.
DisplayText MakeDisplay(const std::vector<absl::string_view>& pieces,
                        const std::vector<const Chain*>& chains) {
  std::vector<MatchedPiece> matched;
  matched.reserve(pieces.size());
  bool any_span = false;
  for (absl::string_view piece : pieces) {
    matched.push_back(MatchPiece(piece, chains));
    any_span = any_span || !matched.back().byte_spans.empty();
  }
  DisplayText display;
  display.char_starts.push_back(0);
  if (!any_span) return display;
  for (size_t i = 0; i < matched.size(); ++i) {
    if (i > 0) AppendSeparator("；", &display);
    AppendPiece(matched[i], &display);
  }
  // Sorted and merged: overlapping matches (the bigrams of two terms) are
  // one <em>.
  std::sort(display.spans.begin(), display.spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::vector<Span> merged;
  for (const Span& span : display.spans) {
    if (!merged.empty() && span.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, span.end);
    } else {
      merged.push_back(span);
    }
  }
  display.spans = std::move(merged);
  return display;
}

void AppendEscaped(absl::string_view text, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '&':
        *out += "&amp;";
        break;
      case '"':
        *out += "&quot;";
        break;
      case '\n':
      case '\r':
      case '\t':
        out->push_back(' ');
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string RenderWindow(const DisplayText& display, size_t max_chars) {
  size_t n = display.chars();
  size_t start = 0;
  size_t end = n;
  if (n > max_chars) {
    // The run of spans that fits in max_chars with the most spans in it (the
    // first such run), centred in the window.
    size_t best_first = 0;
    size_t best_last = 0;
    size_t best_count = 0;
    for (size_t i = 0; i < display.spans.size(); ++i) {
      size_t j = i;
      while (j + 1 < display.spans.size() &&
             display.spans[j + 1].end - display.spans[i].begin <= max_chars) {
        ++j;
      }
      if (j - i + 1 > best_count) {
        best_count = j - i + 1;
        best_first = i;
        best_last = j;
      }
    }
    size_t covered_begin = display.spans.empty() ? 0 : display.spans[best_first].begin;
    size_t covered_end = display.spans.empty() ? 0 : display.spans[best_last].end;
    size_t covered = covered_end - covered_begin;
    size_t slack = covered < max_chars ? (max_chars - covered) / 2 : 0;
    start = covered_begin > slack ? covered_begin - slack : 0;
    start = std::min(start, n - max_chars);
    end = start + max_chars;
  }
  std::string out;
  if (start > 0) out += "…";
  size_t span = 0;
  bool open = false;
  for (size_t c = start; c < end; ++c) {
    while (span < display.spans.size() && display.spans[span].end <= c) ++span;
    bool inside = span < display.spans.size() && display.spans[span].begin <= c;
    if (inside && !open) out += "<em>";
    if (!inside && open) out += "</em>";
    open = inside;
    AppendEscaped(
        absl::string_view(display.text)
            .substr(display.char_starts[c], display.char_starts[c + 1] - display.char_starts[c]),
        &out);
  }
  if (open) out += "</em>";
  if (end < n) out += "…";
  return out;
}

}  // namespace

namespace {

// The tsvector text of the postings of `index` whose weight is at least
// `min_weight`.
std::string TsVectorText(const DocIndex& index, int min_weight) {
  std::string out;
  for (const auto& [lexeme, postings] : index) {
    bool first = true;
    for (const Posting& posting : postings) {
      if (posting.weight < min_weight) continue;
      if (first) {
        if (!out.empty()) out.push_back(' ');
        absl::StrAppend(&out, QuoteLexeme(lexeme), ":");
        first = false;
      } else {
        out.push_back(',');
      }
      absl::StrAppend(&out, posting.position);
      // D is the default and PostgreSQL prints it as nothing: leaving it out
      // keeps our text equal to PostgreSQL's own output of it.
      if (posting.weight != kWeightD) out.push_back("DCBA"[posting.weight]);
    }
  }
  return out;
}

void AppendBigEndian(uint32_t value, int bytes, std::string* out) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

// The same lexemes and postings as TsVectorText, in the binary format (see
// IndexedRecord). A PostgreSQL position is 14 bits, its weight the top two
// (A = 3 ... D = 0); BuildIndex already clamped, sorted and deduplicated
// the positions as tsvector input would.
std::string TsVectorBinary(const DocIndex& index, int min_weight) {
  std::string out;
  uint32_t count = 0;
  out.append(4, '\0');  // the count, filled in at the end
  for (const auto& [lexeme, postings] : index) {
    size_t kept = 0;
    for (const Posting& posting : postings) kept += posting.weight >= min_weight ? 1 : 0;
    if (kept == 0) continue;
    ++count;
    out.append(lexeme);
    out.push_back('\0');
    AppendBigEndian(static_cast<uint32_t>(kept), 2, &out);
    for (const Posting& posting : postings) {
      if (posting.weight < min_weight) continue;
      const uint32_t weight = static_cast<uint32_t>(posting.weight - kWeightD);
      AppendBigEndian((weight << 14) | static_cast<uint32_t>(posting.position & 0x3FFF), 2, &out);
    }
  }
  std::string count_bytes;
  AppendBigEndian(count, 4, &count_bytes);
  out.replace(0, 4, count_bytes);
  return out;
}

}  // namespace

std::vector<std::string> NormalizedCodes(const thesis::v1::Thesis& thesis) {
  std::vector<std::string> codes;
  for (const std::string& code : thesis.classification_codes()) {
    std::string normalized = clc::NormalizeClc(code);
    if (!normalized.empty()) codes.push_back(std::move(normalized));
  }
  return codes;
}

std::string IndexDocument(const thesis::v1::Thesis& thesis) {
  return TsVectorText(BuildIndex(thesis), kWeightD);
}

std::string IndexHeadDocument(const thesis::v1::Thesis& thesis) {
  return TsVectorText(BuildIndex(thesis), kWeightB);
}

IndexedRecord IndexRecord(const thesis::v1::Thesis& thesis, bool binary) {
  const DocIndex index = BuildIndex(thesis);
  IndexedRecord out;
  out.doc = TsVectorText(index, kWeightD);
  out.head = TsVectorText(index, kWeightB);
  out.codes = NormalizedCodes(thesis);
  if (binary) {
    out.doc_binary = TsVectorBinary(index, kWeightD);
    out.head_binary = TsVectorBinary(index, kWeightB);
  }
  return out;
}

absl::StatusOr<CompiledQuery> CompileTsQuery(const Query& query) {
  absl::StatusOr<std::vector<CompiledClause>> clauses = CompileClauses(query);
  if (!clauses.ok()) return clauses.status();
  CompiledQuery out;
  std::vector<std::string> text_clauses;
  for (const CompiledClause& clause : *clauses) {
    if (clause.excluded_class) {
      out.excluded_class_prefixes.push_back(clause.class_prefixes.front());
    } else if (clause.class_prefixes.empty()) {
      text_clauses.push_back(TermsTsQuery(clause.terms));
    } else {
      ClassFilter filter;
      filter.class_prefixes = clause.class_prefixes;
      if (!clause.terms.empty()) filter.tsquery = TermsTsQuery(clause.terms);
      out.class_filters.push_back(std::move(filter));
    }
  }
  out.tsquery = absl::StrJoin(text_clauses, " & ");
  return out;
}

namespace {

// The query's words as one phrase (PhraseTsQuery), nullopt when there is none.
std::optional<Query> PhraseQuery(const Query& query) {
  std::vector<absl::string_view> parts;
  for (const Clause& clause : query.clauses) {
    if (clause.any_of.size() != 1) return std::nullopt;
    const Term& term = clause.any_of.front();
    if (term.negated || term.kind == Term::Kind::kClassPrefix) continue;
    if (term.field != Field::kAll) return std::nullopt;
    parts.push_back(term.raw);
  }
  if (parts.size() < 2) return std::nullopt;
  // No raw term holds a quote (a quote ends a word and delimits a phrase),
  // so the joined terms parse as one phrase.
  absl::StatusOr<Query> phrase = ParseQuery(absl::StrCat("\"", absl::StrJoin(parts, " "), "\""));
  if (!phrase.ok()) return std::nullopt;
  return *std::move(phrase);
}

// The positive text clauses of `clauses` as they can match in the field of
// `weight` (A: titles, B: keywords): each term reduced to its plain chain
// with only that weight allowed, terms that cannot match there (scoped to
// another field) left out, clauses left without terms (or with class: terms,
// or excluded) left out.
std::vector<CompiledClause> RestrictToWeight(const std::vector<CompiledClause>& clauses,
                                             int weight) {
  std::vector<CompiledClause> out;
  for (const CompiledClause& clause : clauses) {
    if (!clause.class_prefixes.empty() || clause.terms.empty() || clause.terms.front().negated) {
      continue;
    }
    CompiledClause restricted;
    for (const CompiledTerm& term : clause.terms) {
      for (const Chain& chain : term.any_of) {
        if (!chain.tag.empty() || !(chain.weight_mask & WeightBit(weight))) continue;
        CompiledTerm t;
        t.any_of.push_back(chain);
        t.any_of.back().weight_mask = WeightBit(weight);
        restricted.terms.push_back(std::move(t));
      }
    }
    if (!restricted.terms.empty()) out.push_back(std::move(restricted));
  }
  return out;
}

std::string ClausesTsQuery(const std::vector<CompiledClause>& clauses) {
  std::vector<std::string> parts;
  for (const CompiledClause& clause : clauses) parts.push_back(TermsTsQuery(clause.terms));
  return absl::StrJoin(parts, " & ");
}

bool ClausesMatch(const std::vector<CompiledClause>& clauses, const DocIndex& index) {
  if (clauses.empty()) return false;
  return std::all_of(clauses.begin(), clauses.end(), [&](const CompiledClause& clause) {
    return std::any_of(clause.terms.begin(), clause.terms.end(),
                       [&](const CompiledTerm& term) { return TermMatches(term, index); });
  });
}

}  // namespace

std::string PhraseTsQuery(const Query& query) {
  std::optional<Query> phrase = PhraseQuery(query);
  if (!phrase) return "";
  absl::StatusOr<CompiledQuery> compiled = CompileTsQuery(*phrase);
  return compiled.ok() ? compiled->tsquery : "";
}

RankQueries CompileRankQueries(const Query& query) {
  RankQueries out;
  absl::StatusOr<std::vector<CompiledClause>> clauses = CompileClauses(query);
  if (!clauses.ok()) return out;
  out.title = ClausesTsQuery(RestrictToWeight(*clauses, kWeightA));
  out.keywords = ClausesTsQuery(RestrictToWeight(*clauses, kWeightB));
  out.phrase = PhraseTsQuery(query);
  return out;
}

int RelevanceScore(const Query& query, const thesis::v1::Thesis& thesis) {
  absl::StatusOr<std::vector<CompiledClause>> clauses = CompileClauses(query);
  if (!clauses.ok()) return 0;
  const DocIndex index = BuildIndex(thesis);
  int score = 0;
  if (ClausesMatch(RestrictToWeight(*clauses, kWeightA), index)) score += kTitleScore;
  if (ClausesMatch(RestrictToWeight(*clauses, kWeightB), index)) score += kKeywordScore;
  if (std::optional<Query> phrase = PhraseQuery(query); phrase && Matches(*phrase, thesis)) {
    score += kPhraseScore;
  }
  return score;
}

bool Matches(const Query& query, const thesis::v1::Thesis& thesis) {
  absl::StatusOr<std::vector<CompiledClause>> clauses = CompileClauses(query);
  if (!clauses.ok()) return false;
  const std::vector<std::string> codes = NormalizedCodes(thesis);
  DocIndex index = BuildIndex(thesis);
  for (const CompiledClause& clause : *clauses) {
    if (clause.excluded_class) {
      if (HasClassPrefix(codes, clause.class_prefixes.front())) return false;
      continue;
    }
    bool any =
        std::any_of(clause.class_prefixes.begin(), clause.class_prefixes.end(),
                    [&](const std::string& prefix) { return HasClassPrefix(codes, prefix); }) ||
        std::any_of(clause.terms.begin(), clause.terms.end(),
                    [&](const CompiledTerm& term) { return TermMatches(term, index); });
    if (!any) return false;
  }
  return true;
}

SearchSnippet Snippet(const Query& query, const thesis::v1::Thesis& thesis, int max_chars) {
  SearchSnippet out;
  absl::StatusOr<std::vector<CompiledClause>> clauses = CompileClauses(query);
  if (!clauses.ok() || max_chars <= 0) return out;
  // The plain chain of every non-excluded term, by the field it applies to.
  std::vector<const Chain*> title_chains;
  std::vector<const Chain*> keyword_chains;
  std::vector<const Chain*> abstract_chains;
  for (const CompiledClause& clause : *clauses) {
    for (const CompiledTerm& term : clause.terms) {
      if (term.negated) continue;
      for (const Chain& chain : term.any_of) {
        if (!chain.tag.empty()) continue;  // names are not snippeted
        if (chain.weight_mask & WeightBit(kWeightA)) title_chains.push_back(&chain);
        if (chain.weight_mask & WeightBit(kWeightB)) keyword_chains.push_back(&chain);
        if (chain.weight_mask & WeightBit(kWeightC)) abstract_chains.push_back(&chain);
      }
    }
  }
  std::vector<absl::string_view> keywords;
  for (const std::string& k : thesis.keywords_zh()) keywords.push_back(k);
  for (const std::string& k : thesis.keywords_en()) keywords.push_back(k);
  struct Candidate {
    SnippetField field;
    std::vector<std::vector<absl::string_view>> values;  // each: its pieces
    const std::vector<const Chain*>* chains;
  };
  const Candidate candidates[] = {
      {SnippetField::kTitle, {{thesis.title_zh()}, {thesis.title_en()}}, &title_chains},
      {SnippetField::kKeywords, {keywords}, &keyword_chains},
      {SnippetField::kAbstract, {{thesis.abstract_zh()}, {thesis.abstract_en()}}, &abstract_chains},
  };
  for (const Candidate& candidate : candidates) {
    if (candidate.chains->empty()) continue;
    std::optional<DisplayText> best;
    for (const std::vector<absl::string_view>& value : candidate.values) {
      DisplayText display = MakeDisplay(value, *candidate.chains);
      if (!display.spans.empty() && (!best || display.spans.size() > best->spans.size())) {
        best = std::move(display);
      }
    }
    if (best) {
      out.field = candidate.field;
      out.html = RenderWindow(*best, static_cast<size_t>(max_chars));
      return out;
    }
  }
  return out;
}

}  // namespace thesis::domain::search
