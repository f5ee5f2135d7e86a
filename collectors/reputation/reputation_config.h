// The reputation collector's configuration: a typed struct and its parser,
// no I/O (so --config.check can build it). Errors are recorded on the
// section (file, line, key); the framework counts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectors/resolve/resolver_address.h"
#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace mailhealth::reputation {

// Upper bounds that keep one run (and the series count) bounded whatever
// the config and the DNS say.
inline constexpr size_t kMaxAddresses = 1024;
inline constexpr size_t kMaxZones = 32;
inline constexpr size_t kMaxMxDomains = 16;

// An inclusive range of IPv4 answer codes, host byte order
// (127.0.0.2 = 0x7f000002).
struct CodeRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool Contains(uint32_t a) const { return a >= first && a <= last; }
  bool operator==(const CodeRange&) const = default;
};

// "127.0.0.2", "127.0.0.2-127.0.0.11" or "127.255.255.0/24"; every address
// must lie in 127.0.0.0/8 (a blocklist answers there, RFC 5782 2.3).
Result<CodeRange> ParseCodeRange(const std::string& text);

struct ZoneConfig {
  std::string name;  // lower case, no trailing dot ("zen.spamhaus.org")
  // Answers that mean "listed"; answers that mean "the query was refused"
  // (never a listing). Filled with the defaults (or Spamhaus' published
  // codes for *.spamhaus.org / *.spamhaus.net) when not configured.
  std::vector<CodeRange> listed_codes;
  std::vector<CodeRange> error_codes;
  // Resolvers of this zone only; empty: the collector's `resolvers`.
  std::vector<ResolverAddress> resolvers;
  // `type: domain`: a domain-name list (dbl.spamhaus.org, multi.surbl.org,
  // RFC 5782 section 3) queried as DOMAIN.ZONE for the collector's domains;
  // `type: address` (the default): an IP list queried for the addresses.
  bool domains = false;
};

struct ReputationConfig {
  // Address literals as configured, in canonical text form.
  std::vector<std::string> addresses;
  std::vector<std::string> from_mx;  // domains, lower case
  // Domain names checked on the `type: domain` zones (with the from_mx
  // domains), lower case.
  std::vector<std::string> domains;
  bool from_postfix = false;
  std::vector<ZoneConfig> zones;
  std::vector<ResolverAddress> resolvers;  // empty: the system's
  std::string expect_ptr;                  // lower case, no trailing dot
  Millis min_interval{15 * 60 * 1000};
  Millis interval{5 * 60 * 1000};
  Millis timeout{20000};
  int64_t max_series = 10000;
  // Not config keys: tests point them elsewhere.
  std::string postconf = "/usr/sbin/postconf";
};

// The defaults: listed 127.0.0.2-127.0.0.254, error 127.255.255.0/24.
std::vector<CodeRange> DefaultListedCodes();
std::vector<CodeRange> DefaultErrorCodes();
// Spamhaus' published return codes, built in for zones under spamhaus.org
// and spamhaus.net: listed 127.0.0.2-127.0.2.255 (ZEN/SBL/XBL/PBL in
// 127.0.0.x, DBL in 127.0.1.x, ZRD in 127.0.2.x); errors 127.255.255.252
// (typing error in the zone name), 127.255.255.254 (query through a public
// or unattributable resolver), 127.255.255.255 (excessive queries).
bool IsSpamhausZone(const std::string& zone);
std::vector<CodeRange> SpamhausListedCodes();
std::vector<CodeRange> SpamhausErrorCodes();

// True for the address of a well-known public resolver (Google, Cloudflare,
// Quad9, OpenDNS, ...), which blocklists refuse to answer.
bool IsPublicResolver(const std::string& ip);

// Reads every key of the reputation section. Errors go to `section`; a
// collector built from a config with errors is discarded by the framework.
ReputationConfig ParseReputationConfig(ConfigNode& section,
                                       const CollectorSettings& settings);

}  // namespace mailhealth::reputation
