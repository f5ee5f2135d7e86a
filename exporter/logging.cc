#include "exporter/logging.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace mailhealth {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kLogfmt)};
std::mutex g_mu;
std::string* g_capture = nullptr;  // guarded by g_mu

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

// Escapes for both logfmt quoted values and JSON strings; control bytes and
// bytes >= 0x7f become \u00XX so a log line is always one printable line.
void AppendEscaped(std::string& out, std::string_view v) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void AppendLogfmt(std::string& out, std::string_view k, std::string_view v) {
  if (!out.empty()) out += ' ';
  out += k;
  out += '=';
  if (NeedsQuoting(v)) {
    out += '"';
    AppendEscaped(out, v);
    out += '"';
  } else {
    out += v;
  }
}

void AppendJson(std::string& out, std::string_view k, std::string_view v) {
  out += out.size() > 1 ? ",\"" : "\"";
  AppendEscaped(out, k);
  out += "\":\"";
  AppendEscaped(out, v);
  out += '"';
}

std::string Now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "logfmt") return LogFormat::kLogfmt;
  if (s == "json") return LogFormat::kJson;
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void CaptureLogsForTest(std::string* sink) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_capture = sink;
}

std::string FormatLogLine(LogFormat format, std::string_view ts,
                          LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields) {
  std::string out;
  if (format == LogFormat::kJson) {
    out.push_back('{');  // not `out = "{"`: GCC 12 -O2 -Wrestrict false positive
    if (!ts.empty()) AppendJson(out, "ts", ts);
    AppendJson(out, "level", LevelName(level));
    AppendJson(out, "msg", msg);
    for (const auto& [k, v] : fields) AppendJson(out, k, v);
    out += '}';
  } else {
    if (!ts.empty()) AppendLogfmt(out, "ts", ts);
    AppendLogfmt(out, "level", LevelName(level));
    AppendLogfmt(out, "msg", msg);
    for (const auto& [k, v] : fields) AppendLogfmt(out, k, v);
  }
  out += '\n';
  return out;
}

void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line =
      FormatLogLine(static_cast<LogFormat>(g_format.load()), Now(), level, msg,
                    std::vector<LogField>(fields));
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_capture != nullptr) {
    *g_capture += line;
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace mailhealth
