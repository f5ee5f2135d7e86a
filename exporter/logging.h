// Structured logging: one line per event on stderr, logfmt or JSON.
//
//   Log(LogLevel::kError, "collector failed", {{"collector", "queue"},
//                                              {"err", status.message()}});
//
// Thread-safe: lines from different threads never interleave. The level and
// format are process-wide and set once by main() (SetLogLevel/SetLogFormat);
// changing them while other threads log is safe (atomics).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailhealth {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string>;

std::optional<LogLevel> ParseLogLevel(std::string_view s);
std::optional<LogFormat> ParseLogFormat(std::string_view s);
void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

// Test hook: when set, lines go to this string instead of stderr.
void CaptureLogsForTest(std::string* sink);

void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields = {});

// Renders one line without the timestamp (exposed for tests).
std::string FormatLogLine(LogFormat format, std::string_view ts,
                          LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields);

inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, m, f);
}
inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

}  // namespace mailhealth
