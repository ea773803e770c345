// Structured logging: one JSON object per line on stderr, e.g.
//   {"time":"2026-12-01T10:00:00.123Z","level":"INFO","msg":"serving","port":50051}
// so that log collectors (Kubernetes, Loki, ...) need no parsing rules.
#ifndef THESIS_SERVER_COMMON_LOG_H_
#define THESIS_SERVER_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

namespace thesis {

enum class LogLevel { kInfo, kWarning, kError };

// A field of a log line: text, or a number written as a JSON number.
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, int64_t v);
  LogField(absl::string_view k, int v) : LogField(k, static_cast<int64_t>(v)) {}
  LogField(absl::string_view k, double v);

  std::string key;
  std::string value;
  bool number = false;
};

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
inline void LogInfo(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarning(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarning, message, fields);
}
inline void LogError(absl::string_view message, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, message, fields);
}

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_LOG_H_
