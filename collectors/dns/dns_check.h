// One run of the dns collector: every domain through every resolver, all
// queries in flight at once (MX first, then A and AAAA of every MX host),
// bounded by one deadline. The results are plain data; dns_metrics.h turns
// them into metric families.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "collectors/dns/dns_config.h"
#include "collectors/resolve/dns_client.h"

namespace mailhealth::dns {

struct HostLookups {
  LookupResult a;
  LookupResult aaaa;
};

// What one resolver said about one domain.
struct DomainResolverResult {
  LookupResult mx;
  LookupResult domain_a;     // only with check_domain_addresses
  LookupResult domain_aaaa;  // only with check_domain_addresses
  // A/AAAA of every MX exchange (at most kMaxExchangesPerDomain) and of
  // every host named in expect_addresses, keyed by normalized name.
  std::map<std::string, HostLookups> hosts;
};

struct DnsRunResult {
  // [domain index][resolver slot], in config order.
  std::vector<std::vector<DomainResolverResult>> results;
};

// The MX exchanges whose A/AAAA are checked: distinct, without the null
// MX ".", ordered by preference then name, and at most
// kMaxExchangesPerDomain of them. The order makes the cap keep the most
// preferred hosts and the label set stable through a resolver that
// shuffles its answers (unbound does by default).
std::vector<std::string> CheckedExchanges(const std::vector<MxRecord>& mx);

// The per-try timeout and tries the collector gives c-ares for a run of
// `timeout`: the first try gets a fifth of it, the one retry twice that,
// so a silent resolver is reported after 3/5 of the timeout and a slow MX
// answer still leaves time for the A/AAAA lookups that follow it.
DnsBatchOptions CollectorBatchOptions(Millis timeout);

// Runs every check. Fails only when c-ares could not be set up; resolvers
// that fail are data in the result.
Result<DnsRunResult> RunDnsChecks(const DnsConfig& config,
                                  Clock::time_point deadline);

}  // namespace mailhealth::dns
