// Minimal structured logging to stderr, one line per event.
#ifndef THESIS_SERVER_COMMON_LOG_H_
#define THESIS_SERVER_COMMON_LOG_H_

#include "absl/strings/string_view.h"

namespace thesis {

enum class LogLevel { kInfo, kWarning, kError };

void Log(LogLevel level, absl::string_view message);
inline void LogInfo(absl::string_view message) { Log(LogLevel::kInfo, message); }
inline void LogWarning(absl::string_view message) { Log(LogLevel::kWarning, message); }
inline void LogError(absl::string_view message) { Log(LogLevel::kError, message); }

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_LOG_H_
