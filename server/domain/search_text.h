// Text normalization and tokenization for full-text search (issue 6): the
// same two functions turn a record's fields into index tokens and a query's
// words into lookup tokens, so that whatever matches is decided here once.
// Pure functions: no gRPC, no SQL.
//
// Why bigrams: Chinese has no spaces between words and two-character words
// are the most common, so a word index would need a segmenter that is never
// right for every title. An index of overlapping character bigrams finds any
// Chinese word of two or more characters by lookups alone: the word
// 电子政务 is the bigrams 电子@0 子政@1 政务@2, and a record contains the word
// where it has those three bigrams at consecutive positions.
//
// How a query word maps to tokens (Tokenize(NormalizeText(word))):
//   a Chinese word of n >= 2 characters   its n-1 bigrams at positions 0..n-2,
//                                         to be matched as a phrase;
//   a single Chinese character            one unigram, which matches only
//                                         where the character stands alone
//                                         between non-Han characters (the
//                                         index has no unigrams inside runs);
//   an English word                       its Snowball English stem
//                                         (networks -> network, governing and
//                                         governance -> govern);
//   digits                                the digit run as written;
//   a mixed word                          one token per run, at consecutive
//                                         positions: COVID-19 -> covid@0 19@1,
//                                         ipv6 -> ipv@0 6@1, 5G网络 -> 5@0 g@1
//                                         网络@2.
// Everything else (punctuation, symbols, kana, hangul, other scripts) only
// separates tokens.
#ifndef THESIS_SERVER_DOMAIN_SEARCH_TEXT_H_
#define THESIS_SERVER_DOMAIN_SEARCH_TEXT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace thesis::domain::search {

// Loads what NormalizeText and Tokenize need (the OpenCC traditional-to-
// simplified tables and the Snowball English stemmer) and reports whether
// that worked. Idempotent and thread-safe. The server should call it at
// startup, so that a machine without the OpenCC data refuses to start
// instead of aborting on its first search; NormalizeText aborts with this
// message when it fails.
absl::Status InitSearchText();

// The text as it is indexed and searched, so that the forms a reader may
// type match the forms a record was written in:
//   - full-width ASCII forms (U+FF01..U+FF5E: `ＡＢＣ`, `１２３`, `：`) become
//     ASCII, U+3000 (ideographic space) becomes a space;
//   - ASCII and Latin-1 letters are lower-cased (`É` -> `é`);
//   - traditional Chinese becomes simplified with OpenCC `t2s.json`
//     (/usr/share/opencc/t2s.json from Debian's libopencc-data), so 電子政務,
//     圖書館 and 電子政务 all become 电子政务 / 图书馆. Simplified text is left
//     as it is, so traditional and simplified forms meet in the middle.
//     t2s converts characters (and a few character-level ambiguities through
//     its phrase table, e.g. 乾隆 keeps 乾 while 乾燥 becomes 干燥); it does
//     not translate regional vocabulary: 軟體 becomes 软体, not 软件, and
//     滑鼠 stays 滑鼠 (tw2sp.json would do that, but it also rewrites words
//     that were written on purpose, so records and queries would disagree);
//   - bytes that are not valid UTF-8 are dropped.
// Everything else is kept as it is. Normalizing twice changes nothing, except
// for the odd chain in OpenCC's tables (薴 -> 苧 -> 苎: one of the 4,105
// characters t2s changes), so index and query text must both be normalized
// once from what was written. Aborts the process (with a message on stderr) when
// OpenCC cannot load its tables: silently skipping the conversion would make
// traditional queries miss simplified records with no sign of why.
std::string NormalizeText(absl::string_view text);

enum class TokenKind {
  kHanBigram,   // two consecutive Chinese characters: 电子
  kHanUnigram,  // a Chinese character with no Chinese neighbour: 法
  kLatinStem,   // the Snowball English stem of a word: network
  kNumber,      // a run of ASCII digits: 2009
};

struct Token {
  TokenKind kind = TokenKind::kLatinStem;
  std::string text;
  // Position in units: each Chinese character, word and digit run is one
  // unit, and a bigram is at the position of its first character, so the
  // bigrams of a run of n characters are at p..p+n-2 and the next token is at
  // p+n. Two tokens are adjacent in the text exactly when their positions
  // differ by one (for a bigram followed by a word: by two). Punctuation and
  // spaces take no position, so `电子 政务` and `电子，政务` give 电子@0 政务@2
  // like 电子政务 does (which also has 子政@1).
  int position = 0;
  // Byte range of the token in the text given to Tokenize.
  size_t begin = 0;
  size_t end = 0;

  friend bool operator==(const Token& a, const Token& b) {
    return a.kind == b.kind && a.text == b.text && a.position == b.position && a.begin == b.begin &&
           a.end == b.end;
  }
};

// Decodes the UTF-8 character at text[i] (i < text.size()) into *c and
// returns its length in bytes; returns 0 (and leaves *c alone) when the byte
// does not start a valid character (overlong forms, surrogates and values
// above U+10FFFF are invalid).
size_t DecodeUtf8(absl::string_view text, size_t i, char32_t* c);

// True for a Chinese character (the CJK unified and compatibility ideographs
// and U+3007 〇, as in 二〇〇九).
bool IsHan(char32_t c);

// The tokens of `normalized` (NormalizeText's output; other text works, but
// is not converted or lower-cased beyond ASCII) in text order, positions from
// 0. Latin words (ASCII and Latin-1/Extended letters, with an apostrophe
// between letters kept: china's -> china) are stemmed with Snowball English;
// a stemmer per thread, created on first use.
std::vector<Token> Tokenize(absl::string_view normalized);

// Tokenize(NormalizeText(text)).
std::vector<Token> Analyze(absl::string_view text);

// `电子@0 子政@1 政务@2`: for tests and logs.
std::string DebugString(const std::vector<Token>& tokens);

}  // namespace thesis::domain::search

#endif  // THESIS_SERVER_DOMAIN_SEARCH_TEXT_H_
