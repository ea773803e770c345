#include "server/domain/import_key.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/domain/list_query.h"
#include "server/domain/thesis_validation.h"

namespace thesis::domain {
namespace {

// Drops white space and punctuation, lower-cases ASCII. Full-width forms
// (U+FF01-U+FF5E) become their ASCII twins first, CJK punctuation
// (U+3000-U+303F) and general punctuation (U+2000-U+206F) are dropped.
std::string Fold(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (absl::ascii_isalnum(c)) out.push_back(absl::ascii_tolower(c));
      ++i;
      continue;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > s.size()) len = s.size() - i;
    uint32_t cp = 0;
    if (len == 3) {
      cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
      const char ascii = static_cast<char>(cp - 0xFF01 + 0x21);
      if (absl::ascii_isalnum(static_cast<unsigned char>(ascii))) {
        out.push_back(absl::ascii_tolower(static_cast<unsigned char>(ascii)));
      }
    } else if (!((cp >= 0x3000 && cp <= 0x303F) || (cp >= 0x2000 && cp <= 0x206F))) {
      out.append(s, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace

std::string ImportKey(const thesis::v1::Thesis& t) {
  if (!t.source().database().empty() && !t.source().record_id().empty()) {
    return absl::StrCat("src:", absl::AsciiStrToUpper(t.source().database()), ":",
                        t.source().record_id());
  }
  return absl::StrCat("nat:", Fold(SortTitle(t)), "|",
                      Fold(t.authors().empty() ? std::string() : t.authors(0)), "|",
                      Fold(t.institution()), "|", t.degree_year());
}

bool SameContent(const thesis::v1::Thesis& a, const thesis::v1::Thesis& b) {
  thesis::v1::Thesis x = a, y = b;
  ClearOutputOnlyFields(&x);
  ClearOutputOnlyFields(&y);
  return google::protobuf::util::MessageDifferencer::Equals(x, y);
}

}  // namespace thesis::domain
