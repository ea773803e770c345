// DecodeToUtf8: BOM handling, GB18030/UTF-16 conversion with glibc iconv,
// and line-end normalisation.
#include <errno.h>
#include <iconv.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "internal.h"
#include "thesis/formats/cnki_formats.h"

namespace thesis::formats {
namespace {

// Converts `in` from `from` to UTF-8.
absl::StatusOr<std::string> Convert(absl::string_view in, const char* from) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return absl::InternalError(absl::StrCat("iconv cannot convert from ", from));
  }
  std::string out;
  // GB18030 and UTF-16 take at most 4 bytes per character, UTF-8 at most 4
  // per character too, and 3 for any 2-byte input: twice the input is ample,
  // but grow anyway when iconv asks for more.
  out.resize(in.size() * 2 + 16);
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  size_t used = 0;
  absl::Status status;
  while (src_left > 0) {
    char* dst = out.data() + used;
    size_t dst_left = out.size() - used;
    const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
    used = out.size() - dst_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    const size_t offset = in.size() - src_left;
    status = absl::InvalidArgumentError(absl::StrCat("not UTF-8 and not ", from, ": ",
                                                     errno == EINVAL ? "truncated" : "invalid",
                                                     " byte sequence at byte offset ", offset));
    break;
  }
  iconv_close(cd);
  if (!status.ok()) return status;
  out.resize(used);
  return out;
}

// CRLF and lone CR -> LF.
std::string NormalizeLineEnds(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> DecodeToUtf8(absl::string_view bytes) {
  if (bytes.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("input is ", bytes.size(), " bytes, more than the limit of ", kMaxInputBytes));
  }
  absl::StatusOr<std::string> converted;
  if (absl::ConsumePrefix(&bytes, "\xEF\xBB\xBF")) {
    if (!internal::IsValidUtf8(bytes)) {
      return absl::InvalidArgumentError("starts with a UTF-8 BOM but is not valid UTF-8");
    }
    return NormalizeLineEnds(bytes);
  }
  if (absl::StartsWith(bytes, "\xFF\xFE") || absl::StartsWith(bytes, "\xFE\xFF")) {
    // iconv's "UTF-16" reads the BOM to pick the byte order and drops it.
    converted = Convert(bytes, "UTF-16");
  } else if (internal::IsValidUtf8(bytes)) {
    return NormalizeLineEnds(bytes);
  } else {
    converted = Convert(bytes, "GB18030");
  }
  if (!converted.ok()) return converted.status();
  absl::string_view text = *converted;
  // A BOM written in the source encoding comes out as a UTF-8 BOM.
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  return NormalizeLineEnds(text);
}

}  // namespace thesis::formats
