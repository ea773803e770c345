#include "server/domain/search_text.h"

#include <libstemmer.h>
#include <opencc/opencc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/utf8.h"

namespace thesis::domain::search {
namespace {

// Found by OpenCC in its data directory (/usr/share/opencc on Debian).
constexpr char kOpenCcConfig[] = "t2s.json";

// The traditional-to-simplified converter, loaded on first use. Conversion
// only reads the loaded dictionaries (OpenCC documents every C function but
// opencc_error() as thread-safe), so one converter serves every thread
// without a lock.
struct ChineseConverter {
  opencc_t handle = nullptr;
  std::string error;  // why it did not load; empty when it did
  // The characters of the Basic Multilingual Plane that t2s converts when
  // they stand alone. A text without any of them (and without characters
  // beyond the BMP) is left as it is without asking OpenCC, which is most
  // of the time the cost of normalizing a simplified text: snippets and
  // indexing went 5 times faster. A phrase of t2s made only of characters
  // that stay the same on their own is therefore not applied; queries and
  // records are normalized by the same function, so they still meet.
  std::vector<bool> converts = std::vector<bool>(0x10000, false);
};

const ChineseConverter& Converter() {
  // Never destroyed: other threads may still be converting at exit.
  static const ChineseConverter* const converter = [] {
    auto* loaded = new ChineseConverter;
    opencc_t handle = opencc_open(kOpenCcConfig);
    if (handle == reinterpret_cast<opencc_t>(-1)) {
      // opencc_error() is not thread-safe, but a static's initializer runs
      // on one thread only.
      const char* why = opencc_error();
      loaded->error = absl::StrCat(
          "OpenCC cannot load ", kOpenCcConfig, " (", why == nullptr ? "no reason given" : why,
          "); install Debian's libopencc-data, which ships /usr/share/opencc/", kOpenCcConfig,
          ": without it traditional Chinese cannot match simplified Chinese");
    } else {
      loaded->handle = handle;
      std::string one;
      for (char32_t c = 0x2E80; c < 0x10000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        one.clear();
        AppendUtf8(c, &one);
        char* converted = opencc_convert_utf8(handle, one.data(), one.size());
        if (converted == nullptr) continue;
        loaded->converts[c] = one != converted;
        opencc_convert_utf8_free(converted);
      }
    }
    return loaded;
  }();
  return *converter;
}

struct StemmerDeleter {
  void operator()(sb_stemmer* stemmer) const { sb_stemmer_delete(stemmer); }
};

// A Snowball stemmer keeps its result in its own buffer, so each thread has
// its own (they are small: a few hundred bytes).
sb_stemmer* ThreadStemmer() {
  thread_local const std::unique_ptr<sb_stemmer, StemmerDeleter> stemmer(
      sb_stemmer_new("english", "UTF_8"));
  return stemmer.get();
}

constexpr char kNoStemmer[] =
    "libstemmer has no English stemmer for UTF-8 (or is out of memory): "
    "sb_stemmer_new(\"english\", "
    "\"UTF_8\") returned null";

[[noreturn]] void Die(absl::string_view message) {
  std::fprintf(stderr, "thesis search: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

// ASCII and Latin-1 upper case to lower case (not U+00D7 ×, not U+00DF ß,
// which has no single-character upper case).
char32_t ToLower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  return c;
}

bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }

// Letters of Latin-script words: ASCII, Latin-1, Latin Extended-A/B and
// Latin Extended Additional (Vietnamese), without × and ÷.
bool IsLatinLetter(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  if (c >= 0xC0 && c <= 0x24F) return c != 0xD7 && c != 0xF7;
  return c >= 0x1E00 && c <= 0x1EFF;
}

bool IsApostrophe(char32_t c) { return c == '\'' || c == 0x2019; }

// Converts text without NUL bytes with OpenCC; text without any character
// from the CJK blocks up (U+2E80) is left alone (English needs no OpenCC).
void AppendConverted(absl::string_view text, const ChineseConverter& converter, std::string* out) {
  bool convert = false;
  for (size_t i = 0; i < text.size() && !convert;) {
    char32_t c = 0;
    const size_t n = DecodeUtf8(text, i, &c);
    convert = c >= 0x10000 || (c >= 0x2E80 && converter.converts[c]);
    i += n == 0 ? 1 : n;
  }
  if (!convert) {
    out->append(text.data(), text.size());
    return;
  }
  char* converted = opencc_convert_utf8(converter.handle, text.data(), text.size());
  if (converted == nullptr) {
    // OpenCC fails only on malformed UTF-8, which the first pass removed;
    // keeping the text unconverted beats dropping it.
    out->append(text.data(), text.size());
    return;
  }
  out->append(converted);
  opencc_convert_utf8_free(converted);
}

}  // namespace

size_t DecodeUtf8(absl::string_view text, size_t i, char32_t* c) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *c = b0;
    return 1;
  }
  size_t n;
  char32_t value;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    value = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    value = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    value = b0 & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *c = value;
  return n;
}

bool IsHan(char32_t c) {
  return c == 0x3007 || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) ||
         // Extensions B to H and the compatibility supplement (with the
         // unassigned gaps between them: harmless).
         (c >= 0x20000 && c <= 0x323AF);
}

absl::Status InitSearchText() {
  const ChineseConverter& converter = Converter();
  if (!converter.error.empty()) return absl::FailedPreconditionError(converter.error);
  if (ThreadStemmer() == nullptr) return absl::FailedPreconditionError(kNoStemmer);
  return absl::OkStatus();
}

std::string NormalizeText(absl::string_view text) {
  // Checked before looking at the text, so that a missing table fails the
  // first call whatever it is given, not the first Chinese one.
  const ChineseConverter& converter = Converter();
  if (!converter.error.empty()) Die(converter.error);

  // First pass: widths, case, invalid bytes.
  std::string half;
  half.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t c = 0;
    const size_t n = DecodeUtf8(text, i, &c);
    if (n == 0) {
      ++i;
      continue;
    }
    i += n;
    if (c >= 0xFF01 && c <= 0xFF5E) {
      c -= 0xFEE0;
    } else if (c == 0x3000) {
      c = ' ';
    }
    AppendUtf8(ToLower(c), &half);
  }

  // Second pass: traditional to simplified. OpenCC's t2s tables have no
  // ASCII in their keys or values, so ASCII passes through unchanged and the
  // text can go in whole (one call is 1.5 times faster than one per run of
  // non-ASCII text); only a NUL byte, where OpenCC stops, splits it.
  std::string out;
  out.reserve(half.size());
  size_t i = 0;
  while (i < half.size()) {
    size_t j = half.find('\0', i);
    if (j == std::string::npos) j = half.size();
    AppendConverted(absl::string_view(half.data() + i, j - i), converter, &out);
    if (j < half.size()) out.push_back('\0');
    i = j + 1;
  }
  return out;
}

std::vector<Token> Tokenize(absl::string_view normalized) {
  std::vector<Token> tokens;
  int position = 0;
  size_t i = 0;
  // The character at i, or 0 with length 0 at the end or on an invalid byte.
  const auto peek = [&](size_t at, char32_t* c) -> size_t {
    if (at >= normalized.size()) return 0;
    return DecodeUtf8(normalized, at, c);
  };
  while (i < normalized.size()) {
    char32_t c = 0;
    const size_t n = peek(i, &c);
    if (n == 0) {
      ++i;
      continue;
    }
    if (IsHan(c)) {
      // Byte offsets of the run's characters, and one past the last.
      std::vector<size_t> starts;
      size_t j = i;
      char32_t d = 0;
      for (size_t m; (m = peek(j, &d)) != 0 && IsHan(d); j += m) starts.push_back(j);
      starts.push_back(j);
      const int chars = static_cast<int>(starts.size()) - 1;
      if (chars == 1) {
        tokens.push_back(
            {TokenKind::kHanUnigram, std::string(normalized.substr(i, j - i)), position, i, j});
      } else {
        for (int k = 0; k + 1 < chars; ++k) {
          const size_t begin = starts[k];
          const size_t end = starts[k + 2];
          tokens.push_back({TokenKind::kHanBigram,
                            std::string(normalized.substr(begin, end - begin)), position + k, begin,
                            end});
        }
      }
      position += chars;
      i = j;
    } else if (IsDigit(c)) {
      size_t j = i;
      while (j < normalized.size() && IsDigit(static_cast<unsigned char>(normalized[j]))) ++j;
      tokens.push_back(
          {TokenKind::kNumber, std::string(normalized.substr(i, j - i)), position++, i, j});
      i = j;
    } else if (IsLatinLetter(c)) {
      std::string word;
      size_t j = i;
      char32_t d = 0;
      for (size_t m; (m = peek(j, &d)) != 0;) {
        if (IsLatinLetter(d)) {
          AppendUtf8(ToLower(d), &word);
          j += m;
          continue;
        }
        // An apostrophe inside a word (china's, o'neill) belongs to it: the
        // stemmer removes a possessive 's itself.
        char32_t e = 0;
        if (IsApostrophe(d) && peek(j + m, &e) != 0 && IsLatinLetter(e)) {
          word.push_back('\'');
          j += m;
          continue;
        }
        break;
      }
      sb_stemmer* stemmer = ThreadStemmer();
      if (stemmer == nullptr) Die(kNoStemmer);
      const sb_symbol* stem = sb_stemmer_stem(
          stemmer, reinterpret_cast<const sb_symbol*>(word.data()), static_cast<int>(word.size()));
      // Null only when out of memory: the word itself still matches itself.
      std::string text = stem == nullptr ? word
                                         : std::string(reinterpret_cast<const char*>(stem),
                                                       sb_stemmer_length(stemmer));
      tokens.push_back({TokenKind::kLatinStem, std::move(text), position++, i, j});
      i = j;
    } else {
      i += n;
    }
  }
  return tokens;
}

std::vector<Token> Analyze(absl::string_view text) { return Tokenize(NormalizeText(text)); }

std::string DebugString(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& token : tokens) {
    if (!out.empty()) out.push_back(' ');
    absl::StrAppend(&out, token.text, "@", token.position);
  }
  return out;
}

}  // namespace thesis::domain::search
