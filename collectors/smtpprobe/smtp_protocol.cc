#include "collectors/smtpprobe/smtp_protocol.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include "exporter/strings.h"

namespace mailhealth::smtp {
namespace {

constexpr std::string_view kMxPrefix = "mx:";
constexpr std::string_view kLmtpPrefix = "lmtp:";
constexpr std::string_view kSmtpsPrefix = "smtps:";
constexpr uint16_t kImplicitTlsPort = 465;

Result<uint16_t> ParsePortOrError(std::string_view s) {
  uint16_t port = 0;
  if (!ParsePort(s, &port)) {
    return Status::Error("invalid port \"" + std::string(s) + "\"");
  }
  return port;
}

// Letters, digits, '-', '_' in dot-separated labels of 1..63 bytes; a
// trailing dot is allowed. Underscores appear in real (if odd) names.
bool IsHostName(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return false;
    }
    if (++label > 63) return false;
  }
  return label > 0;
}

// "host:port" or "[v6]:port" -> host, port.
Status SplitHostPort(std::string_view s, std::string* host, uint16_t* port,
                     bool* is_ip) {
  std::string_view h, p;
  if (StartsWith(s, "[")) {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return Status::Error("expected [IPv6]:PORT");
    }
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
    in6_addr a6{};
    if (!inet_pton(AF_INET6, std::string(h).c_str(), &a6)) {
      return Status::Error(
          std::string("\"").append(h).append("\" is not an IPv6 address"));
    }
    *is_ip = true;
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::Error("missing port (expected HOST:PORT)");
    }
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return Status::Error("IPv6 addresses need brackets: [ADDRESS]:PORT");
    }
    *is_ip = IsSmtpIpLiteral(h);
    if (!*is_ip && !IsHostName(h)) {
      return Status::Error("invalid host name \"" + std::string(h) + "\"");
    }
  }
  Result<uint16_t> pr = ParsePortOrError(p);
  if (!pr.ok()) return pr.status();
  *host = std::string(h);
  *port = *pr;
  return Status::Ok();
}

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool IsSmtpIpLiteral(std::string_view s) {
  std::string z(s);
  in_addr a4{};
  in6_addr a6{};
  return inet_pton(AF_INET, z.c_str(), &a4) == 1 ||
         inet_pton(AF_INET6, z.c_str(), &a6) == 1;
}

Result<SmtpTarget> ParseSmtpTarget(std::string_view text) {
  SmtpTarget t;
  t.text = std::string(text);
  std::string_view rest = text;
  if (rest.empty()) return Status::Error("empty target");
  for (char c : rest) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        !std::isprint(static_cast<unsigned char>(c))) {
      return Status::Error("target contains a space or control character");
    }
  }
  if (StartsWith(rest, kMxPrefix)) {
    rest.remove_prefix(kMxPrefix.size());
    t.kind = SmtpTarget::Kind::kMx;
    size_t colon = rest.find(':');
    std::string_view domain = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      Result<uint16_t> p = ParsePortOrError(rest.substr(colon + 1));
      if (!p.ok()) return p.status();
      t.port = *p;
    }
    if (!IsHostName(domain) || IsSmtpIpLiteral(domain)) {
      return Status::Error("invalid domain \"" + std::string(domain) +
                           "\" (expected mx:DOMAIN or mx:DOMAIN:PORT)");
    }
    t.host = std::string(domain);
    if (t.host.back() == '.') t.host.pop_back();
    t.implicit_tls = t.port == kImplicitTlsPort;
    return t;
  }
  if (StartsWith(rest, kLmtpPrefix)) {
    rest.remove_prefix(kLmtpPrefix.size());
    t.lmtp = true;
  } else if (StartsWith(rest, kSmtpsPrefix)) {
    rest.remove_prefix(kSmtpsPrefix.size());
    t.implicit_tls = true;
  } else {
    // A "word:" prefix that is not ours (and not a host:port) is a typo.
    // (An unbracketed IPv6 address starts with hex digits: leave it to
    // SplitHostPort, which asks for brackets.)
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos && colon + 1 < rest.size() &&
        !IsHex(rest.substr(0, colon)) &&
        rest.find(':', colon + 1) != std::string_view::npos &&
        rest.front() != '[' && !IsAllDigits(rest.substr(colon + 1))) {
      return Status::Error("unknown prefix \"" +
                           std::string(rest.substr(0, colon + 1)) +
                           "\" (known: mx:, lmtp:, smtps:)");
    }
  }
  Status s = SplitHostPort(rest, &t.host, &t.port, &t.host_is_ip);
  if (!s.ok()) return s;
  if (t.host.back() == '.') t.host.pop_back();
  if (!t.lmtp && t.port == kImplicitTlsPort) t.implicit_tls = true;
  return t;
}

Status ValidateHeloName(std::string_view name) {
  if (name.size() > 255) return Status::Error("helo name too long");
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    std::string_view inner = name.substr(1, name.size() - 2);
    if (StartsWith(inner, "IPv6:")) inner.remove_prefix(5);
    if (IsSmtpIpLiteral(inner)) return Status::Ok();
  } else if (IsHostName(name)) {
    return Status::Ok();
  }
  return Status::Error("invalid helo name \"" + std::string(name) +
                       "\" (expected a host name or an address literal "
                       "such as [192.0.2.1])");
}

SmtpReplyParse ParseSmtpReply(std::string_view buffer,
                              const SmtpReplyLimits& limits) {
  using State = SmtpReplyParse::State;
  SmtpReplyParse out;
  size_t pos = 0;
  while (true) {
    size_t nl = buffer.find('\n', pos);
    if (nl == std::string_view::npos) {
      out.state = buffer.size() - pos > limits.max_line ? State::kLineTooLong
                                                        : State::kIncomplete;
      return out;
    }
    if (nl + 1 - pos > limits.max_line) {
      out.state = State::kLineTooLong;
      return out;
    }
    std::string_view line = buffer.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (out.reply.lines.size() >= limits.max_lines) {
      out.state = State::kTooManyLines;
      return out;
    }
    // "NNN", "NNN text", "NNN-text"; first digit 2..5 (RFC 5321 4.2).
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' ||
        !std::isdigit(static_cast<unsigned char>(line[1])) ||
        !std::isdigit(static_cast<unsigned char>(line[2])) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      out.state = State::kMalformed;
      return out;
    }
    for (char c : line) {
      // Control bytes other than tab mean this is not a text reply.
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        out.state = State::kMalformed;
        return out;
      }
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (out.reply.lines.empty()) {
      out.reply.code = code;
    } else if (code != out.reply.code) {
      out.state = State::kMalformed;
      return out;
    }
    out.reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : "");
    bool more = line.size() > 3 && line[3] == '-';
    if (!more) {
      out.state = State::kComplete;
      out.consumed = pos;
      return out;
    }
  }
}

SmtpCapabilities ParseEhloCapabilities(const SmtpReply& reply) {
  SmtpCapabilities caps;
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view l = reply.lines[i];
    size_t end = l.find_first_of(" =\t");
    std::string kw = Lower(l.substr(0, end));
    for (size_t c = 0; c < kSmtpCapabilityCount; ++c) {
      if (kw == kSmtpCapabilityNames[c]) caps.has[c] = true;
    }
  }
  return caps;
}

}  // namespace mailhealth::smtp
