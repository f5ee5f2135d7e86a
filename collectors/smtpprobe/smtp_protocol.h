// Pure parsing for the smtp collector: configured targets, SMTP replies and
// EHLO capabilities. No I/O; every function is a plain value transformation,
// safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace mailhealth::smtp {

// ---- Targets --------------------------------------------------------------

// One configured target string, e.g.
//   "mx1.example.com:25"   "192.0.2.1:587"   "[2001:db8::1]:25"
//   "mx:example.com"       "mx:example.com:465"
//   "lmtp:127.0.0.1:24"    "smtps:mail.example.com:4650"
// Port 465 implies implicit TLS (the TLS handshake comes before the banner);
// the `smtps:` prefix asks for it on any other port.
struct SmtpTarget {
  enum class Kind { kHost, kMx };
  std::string text;  // the configured string (the `target` label)
  Kind kind = Kind::kHost;
  std::string host;  // host name, IP literal (no brackets), or MX domain
  uint16_t port = 25;
  bool lmtp = false;  // send LHLO instead of EHLO
  bool implicit_tls = false;
  bool host_is_ip = false;  // host is an IPv4/IPv6 literal
};

// Parses one target; the error message says what is wrong (for a
// file:line config error).
Result<SmtpTarget> ParseSmtpTarget(std::string_view text);

// True when `s` is an IPv4 or IPv6 literal (without brackets).
bool IsSmtpIpLiteral(std::string_view s);

// Validates an EHLO name: a host name or an address literal in brackets,
// printable, no spaces.
Status ValidateHeloName(std::string_view name);

// ---- Replies --------------------------------------------------------------

struct SmtpReplyLimits {
  size_t max_line = 4096;  // bytes per line, CRLF included
  size_t max_lines = 64;   // lines per reply
};

struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;  // the text after "NNN-" / "NNN "
};

struct SmtpReplyParse {
  enum class State {
    kIncomplete,    // need more bytes
    kComplete,      // `reply` holds the reply; `consumed` bytes were used
    kMalformed,     // a line that is not "NNN", "NNN text" or "NNN-text"
    kLineTooLong,   // a line over max_line (complete or not)
    kTooManyLines,  // more than max_lines lines
  };
  State state = State::kIncomplete;
  SmtpReply reply;
  size_t consumed = 0;
};

// Parses the first reply in `buffer` (lines end in CRLF; a bare LF is
// accepted). A multi-line reply ("220-...", then "220 ...") completes at its
// last line; every line must carry the same code.
SmtpReplyParse ParseSmtpReply(std::string_view buffer,
                              const SmtpReplyLimits& limits = {});

// ---- EHLO capabilities ----------------------------------------------------

// The fixed list of capabilities exported (label values, lower case).
inline constexpr const char* kSmtpCapabilityNames[] = {
    "starttls", "size",     "pipelining", "8bitmime",           "auth",
    "smtputf8", "chunking", "dsn",        "enhancedstatuscodes"};
inline constexpr size_t kSmtpCapabilityCount =
    sizeof(kSmtpCapabilityNames) / sizeof(kSmtpCapabilityNames[0]);

struct SmtpCapabilities {
  bool has[kSmtpCapabilityCount] = {};  // indexed like kSmtpCapabilityNames
  bool starttls() const { return has[0]; }
};

// Capabilities from a 250 EHLO/LHLO reply (line 0 is the greeting and is
// skipped; keywords are case-insensitive; "AUTH=LOGIN" counts as AUTH).
SmtpCapabilities ParseEhloCapabilities(const SmtpReply& reply);

}  // namespace mailhealth::smtp
