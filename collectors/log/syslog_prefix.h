// The syslog prefix of a mail log line (timestamp, host, program, pid),
// split from the message; pure, no I/O, no allocation.
//
// Every prefix found in tests/fixtures/corpus is understood: BSD timestamps
// with any day padding (optionally with fractions), RFC 3339 with fractions
// and offsets (with or without a colon), year-first site templates
// ("2013 Jun 10 06:28:18.123"), and RFC 5424 with <PRI> and version.
#pragma once

#include <string_view>

namespace mailhealth::log {

struct SyslogLine {
  std::string_view program;  // "postfix/submission/smtpd", "dovecot"
  std::string_view pid;      // digits, may be empty
  std::string_view host;
  std::string_view message;  // after "program[pid]: "
};

// Returns false when the line has no recognisable syslog prefix.
bool ParseSyslogPrefix(std::string_view line, SyslogLine* out);

}  // namespace mailhealth::log
