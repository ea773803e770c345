// Writing a code point as UTF-8: the one helper the text code of the
// server, the format readers and the tools share (header only, so that any
// library may use it without a link dependency).
#ifndef THESIS_SERVER_COMMON_UTF8_H_
#define THESIS_SERVER_COMMON_UTF8_H_

#include <string>

namespace thesis {

// Appends `c` (at most U+10FFFF; the caller checks) in UTF-8.
inline void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_UTF8_H_
