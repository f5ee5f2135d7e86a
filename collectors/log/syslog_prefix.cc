#include "collectors/log/syslog_prefix.h"

#include <algorithm>
#include <cstring>

#include "collectors/log/log_text.h"

namespace mailhealth::log {
namespace {

using std::string_view;

// The token at `*i` up to the next space; advances past one space.
string_view Token(string_view s, size_t* i) {
  size_t b = *i;
  const void* sp =
      b < s.size() ? std::memchr(s.data() + b, ' ', s.size() - b) : nullptr;
  size_t e = sp ? static_cast<size_t>(static_cast<const char*>(sp) - s.data())
                : s.size();
  *i = sp ? e + 1 : e;
  return s.substr(b, e - b);
}

// "HH:MM:SS" optionally followed by a fraction.
bool IsClock(string_view t) {
  return t.size() >= 8 && IsDigit(t[0]) && IsDigit(t[1]) && t[2] == ':' &&
         IsDigit(t[3]) && IsDigit(t[4]) && t[5] == ':' && IsDigit(t[6]) &&
         IsDigit(t[7]);
}

// "Jan  7 12:00:00[.123]" at *i (any day padding).
bool SkipBsdDate(string_view s, size_t* i) {
  size_t j = *i;
  if (j + 3 > s.size() || !IsAlpha(s[j]) || !IsAlpha(s[j + 1]) ||
      !IsAlpha(s[j + 2]))
    return false;
  j += 3;
  if (j >= s.size() || s[j] != ' ') return false;
  while (j < s.size() && s[j] == ' ') ++j;
  size_t d = 0;
  while (j < s.size() && IsDigit(s[j]) && d < 2) ++j, ++d;
  if (d == 0 || j >= s.size() || s[j] != ' ') return false;
  ++j;
  if (!IsClock(Token(s, &j))) return false;
  *i = j;
  return true;
}

// Parses "program[pid]: message" or "program: message" at `i`.
bool ParseTag(string_view s, size_t i, SyslogLine* out) {
  size_t b = i;
  while (i < s.size() && s[i] != '[' && s[i] != ':' && s[i] != ' ') ++i;
  if (i == b || i >= s.size()) return false;
  out->program = s.substr(b, i - b);
  out->pid = {};
  if (s[i] == '[') {
    size_t p = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == p || i >= s.size() || s[i] != ']') return false;
    out->pid = s.substr(p, i - p);
    ++i;
  }
  if (i >= s.size() || s[i] != ':') return false;
  ++i;
  if (i < s.size() && s[i] == ' ') ++i;
  out->message = s.substr(i);
  return true;
}

// RFC 5424: "1 TIMESTAMP HOST APP PROCID MSGID SD MSG" after "<PRI>".
bool ParseRfc5424(string_view s, size_t i, SyslogLine* out) {
  i += 2;        // "1 "
  Token(s, &i);  // timestamp
  out->host = Token(s, &i);
  string_view app = Token(s, &i);
  string_view procid = Token(s, &i);
  Token(s, &i);  // msgid
  if (app.empty() || i > s.size()) return false;
  if (i < s.size() && s[i] == '-') {
    ++i;
  } else {
    while (i < s.size() && s[i] == '[') {  // structured data elements
      ++i;
      while (i < s.size() && s[i] != ']') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return false;
      ++i;
    }
  }
  if (i < s.size() && s[i] == ' ') ++i;
  if (StartsWith(s.substr(std::min(i, s.size())), "\xEF\xBB\xBF")) i += 3;
  out->program = app == "-" ? string_view() : app;
  out->pid = procid == "-" ? string_view() : procid;
  out->message = s.substr(std::min(i, s.size()));
  return !out->program.empty();
}

}  // namespace

bool ParseSyslogPrefix(std::string_view s, SyslogLine* out) {
  *out = SyslogLine{};
  size_t i = 0;
  if (!s.empty() && s[0] == '<') {
    size_t j = 1;
    while (j < s.size() && j < 5 && IsDigit(s[j])) ++j;
    if (j == 1 || j >= s.size() || s[j] != '>') return false;
    i = j + 1;
    if (i + 1 < s.size() && s[i] == '1' && s[i + 1] == ' ')
      return ParseRfc5424(s, i, out);
  }
  if (i + 4 < s.size() && IsDigit(s[i]) && IsDigit(s[i + 1]) &&
      IsDigit(s[i + 2]) && IsDigit(s[i + 3])) {
    if (s[i + 4] == '-') {
      // RFC 3339 ("2024-03-22T08:00:01.000+00:00", "...+0000"), or
      // "2024-03-22 08:00:01".
      string_view ts = Token(s, &i);
      if (ts.size() < 10 || ts[7] != '-') return false;
      if (ts.size() == 10 && !IsClock(Token(s, &i))) return false;
    } else if (s[i + 4] == ' ') {
      i += 5;  // "2013 Jun 10 06:28:18.123"
      if (!SkipBsdDate(s, &i)) return false;
    } else {
      return false;
    }
  } else if (!SkipBsdDate(s, &i)) {
    return false;
  }
  out->host = Token(s, &i);
  if (out->host.empty()) return false;
  return ParseTag(s, i, out);
}

}  // namespace mailhealth::log
