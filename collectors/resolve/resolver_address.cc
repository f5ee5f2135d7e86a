#include "collectors/resolve/resolver_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

#include "exporter/strings.h"

namespace mailhealth {
namespace {

// inet_pton + inet_ntop for one family; "" when not a literal of it.
std::string Canonical(int family, const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(family, text.c_str(), buf) != 1) return "";
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, buf, out, sizeof out) == nullptr) return "";
  return out;
}

}  // namespace

std::string CanonicalIp(std::string_view text) {
  std::string t(text);
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') {
    return Canonical(AF_INET6, t.substr(1, t.size() - 2));
  }
  std::string c = Canonical(AF_INET, t);
  return c.empty() ? Canonical(AF_INET6, t) : c;
}

bool IsIpLiteral(std::string_view text) { return !CanonicalIp(text).empty(); }

Result<ResolverAddress> ParseResolverAddress(std::string_view text) {
  const std::string t(text);
  ResolverAddress r;
  r.label = t;
  auto bad = [&](const std::string& why) {
    return Status::Error("invalid resolver \"" + t + "\": " + why);
  };
  if (t.empty()) return bad("empty");
  if (t.front() == '[') {  // [v6] or [v6]:port
    size_t close = t.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    r.ip = Canonical(AF_INET6, t.substr(1, close - 1));
    if (r.ip.empty()) return bad("not an IPv6 address inside [...]");
    r.family = AF_INET6;
    std::string_view rest = std::string_view(t).substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !ParsePort(rest.substr(1), &r.port)) {
        return bad("invalid port (use [IPv6]:PORT, PORT 1-65535)");
      }
    }
    return r;
  }
  // Bare IPv6 (several colons, no port possible).
  if (std::count(t.begin(), t.end(), ':') > 1) {
    r.ip = Canonical(AF_INET6, t);
    if (r.ip.empty()) return bad("not an IPv6 address");
    r.family = AF_INET6;
    return r;
  }
  std::string host = t;
  size_t colon = t.find(':');
  if (colon != std::string::npos) {
    host = t.substr(0, colon);
    if (!ParsePort(std::string_view(t).substr(colon + 1), &r.port)) {
      return bad("invalid port (use IP:PORT, PORT 1-65535)");
    }
  }
  r.ip = Canonical(AF_INET, host);
  if (r.ip.empty()) {
    return bad(
        "not an IP address (resolvers must be IP literals such as "
        "192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53, not host names)");
  }
  r.family = AF_INET;
  return r;
}

Result<std::vector<ResolverAddress>> ParseResolverAddresses(
    const std::vector<std::string>& texts) {
  std::vector<ResolverAddress> out;
  for (const auto& t : texts) {
    auto r = ParseResolverAddress(t);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace mailhealth
