// The dns collector's configuration: parsed and validated from its YAML
// section without any I/O (so --config.check can build it).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/resolve/resolver_address.h"
#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace mailhealth::dns {

// Guard against a config that would export an unbounded number of series.
inline constexpr size_t kMaxDomainResolverPairs = 1000;
// MX hosts followed per domain and resolver (the rest are only counted).
inline constexpr size_t kMaxExchangesPerDomain = 32;

struct ExpectedMx {
  std::optional<int> preference;  // unset: any preference matches
  std::string exchange;           // NormalizeName()d; "." for a null MX
};

struct DnsDomainConfig {
  std::string name;  // NormalizeName()d
  bool has_expect_mx = false;
  std::vector<ExpectedMx> expect_mx;
  // host (normalized) -> canonical IP literals, sorted.
  std::map<std::string, std::vector<std::string>> expect_addresses;
  bool check_domain_addresses = false;
};

struct DnsConfig {
  // Empty: the system's resolvers, one slot labelled "system".
  std::vector<ResolverAddress> resolvers;
  std::vector<DnsDomainConfig> domains;
  Millis timeout{5000};
  Millis interval{60000};

  // The `resolver` label values, in slot order.
  std::vector<std::string> ResolverLabels() const;
};

// Parses "10 mx1.example.com", "mx1.example.com.", "0 ." or ".".
Result<ExpectedMx> ParseExpectedMx(const std::string& text);

// Pieces shared with the /probe dns module (dns_prober.h): `resolvers`,
// and a domain's `expect_mx` and `expect_addresses`.
void ParseDnsResolvers(ConfigNode& section, DnsConfig& c);
void ParseDomainExpectations(ConfigNode& section, DnsDomainConfig& dc);
// Adds one expect_addresses entry (the error says what is wrong).
Status AddExpectedAddresses(const std::string& host,
                            const std::vector<std::string>& ips,
                            DnsDomainConfig& dc);

// Reads every key of the dns section. Errors go to `section` (file, line,
// key); a collector built from a config with errors is discarded by the
// framework.
DnsConfig ParseDnsConfig(ConfigNode& section,
                         const CollectorSettings& settings);

}  // namespace mailhealth::dns
