// Resolver addresses as written in the config: IP literals with an
// optional port ("192.0.2.53", "192.0.2.53:5353", "2001:db8::53",
// "[2001:db8::53]:53"). Host names are rejected: a resolver that must
// itself be resolved would make the check depend on the local resolver,
// which is what the check is meant to look past. Pure, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace mailhealth {

struct ResolverAddress {
  std::string label;  // the config string as written (the `resolver` label)
  int family = 0;     // AF_INET or AF_INET6
  std::string ip;     // canonical text form (inet_ntop)
  uint16_t port = 53;
};

// The label used for the system's resolvers (/etc/resolv.conf).
inline constexpr char kSystemResolverLabel[] = "system";

Result<ResolverAddress> ParseResolverAddress(std::string_view text);

// Parses every entry; the first error names the offending entry.
Result<std::vector<ResolverAddress>> ParseResolverAddresses(
    const std::vector<std::string>& texts);

// True when `text` is an IPv4 or IPv6 literal (brackets allowed for v6).
bool IsIpLiteral(std::string_view text);

// Canonical text of an IP literal (e.g. "2001:DB8:0::1" -> "2001:db8::1"),
// or "" when `text` is not one.
std::string CanonicalIp(std::string_view text);

}  // namespace mailhealth
