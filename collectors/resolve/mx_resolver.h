// Resolving a mail domain the way a sending server does, for reuse outside
// the dns collector (the smtp collector expands `mx:DOMAIN` targets and
// resolves host names of `host:port` targets with it).
//
// Both functions block until done or `deadline`, whichever comes first,
// and are safe to call from any thread (each call uses its own c-ares
// channels). `resolvers` are the config's `resolvers` strings ("192.0.2.53",
// "192.0.2.53:5353", "[2001:db8::53]:53"); empty means the system's.
// With several resolvers the first one that answers is used: they are tried
// in order, and a timeout, SERVFAIL or REFUSED moves on to the next (c-ares'
// failover within one channel). Hosts are capped at 32 per domain.
// Implemented in mx_resolver.cc over DnsBatch (dns_client.h).
#pragma once

#include <string>
#include <vector>

#include "exporter/collector.h"
#include "exporter/status.h"

namespace mailhealth {

struct MxHostAddresses {
  std::string exchange;  // lower case, no trailing dot
  int preference = 0;
  std::vector<std::string> addresses;  // IPv4 and IPv6 literals
};

struct MxResolution {
  // Non-OK when the MX query (or, with no MX, the implicit-MX A/AAAA
  // fallback of RFC 5321) failed; the message says why (nxdomain, timeout).
  Status status;
  bool null_mx = false;  // "0 ." (RFC 7505): the domain takes no mail
  std::vector<MxHostAddresses> hosts;  // sorted by preference, then name
};

MxResolution ResolveMx(const std::string& domain,
                       const std::vector<std::string>& resolvers,
                       Clock::time_point deadline);

// A and AAAA of `host` (an IP literal is returned as is).
Result<std::vector<std::string>> ResolveHost(
    const std::string& host, const std::vector<std::string>& resolvers,
    Clock::time_point deadline);

}  // namespace mailhealth
