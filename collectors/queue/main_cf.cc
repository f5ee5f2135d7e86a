#include "collectors/queue/main_cf.h"

#include <vector>

namespace mailhealth {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool PlainAbsolutePath(std::string_view v) {
  if (v.empty() || v.front() != '/') return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
              c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

struct LogicalLine {
  std::string_view first;  // its first physical line
  bool continued = false;  // whitespace-led lines followed
};

}  // namespace

std::optional<std::string> LiteralQueueDirectory(
    std::string_view main_cf, std::string_view compiled_default) {
  constexpr std::string_view kName = "queue_directory";
  if (main_cf.find('\0') != std::string_view::npos) return std::nullopt;
  std::vector<LogicalLine> lines;
  size_t pos = 0;
  while (pos < main_cf.size()) {
    size_t nl = main_cf.find('\n', pos);
    if (nl == std::string_view::npos) nl = main_cf.size();
    std::string_view line = main_cf.substr(pos, nl - pos);
    pos = nl + 1;
    std::string_view t = Trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (IsSpace(line.front())) {
      // A continuation: of nothing (before the first logical line) is
      // postconf's to judge.
      if (lines.empty()) return std::nullopt;
      lines.back().continued = true;
      continue;
    }
    lines.push_back({line, false});
  }
  std::optional<std::string> value;
  for (const LogicalLine& l : lines) {
    size_t eq = l.first.find('=');
    std::string_view name = Trim(
        l.first.substr(0, eq == std::string_view::npos ? l.first.size() : eq));
    if (name.find(kName) == std::string_view::npos) continue;
    // The name part mentions queue_directory: only the plain form is ours.
    if (eq == std::string_view::npos || name != kName || l.continued) {
      return std::nullopt;
    }
    std::string_view v = Trim(l.first.substr(eq + 1));
    if (!PlainAbsolutePath(v)) return std::nullopt;
    value = std::string(v);
  }
  if (value) return value;
  return std::string(compiled_default);
}

}  // namespace mailhealth
