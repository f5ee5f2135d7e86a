// Character and substring tests shared by the log parsers (syslog_prefix,
// log_parser, log_signals): inline, ASCII only, no locale (the hot path).
// StartsWith is the framework's (exporter/strings.h).
#pragma once

#include <string_view>

#include "exporter/strings.h"

namespace mailhealth::log {

inline bool Contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }

}  // namespace mailhealth::log
