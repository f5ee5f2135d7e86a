// Metric families of a dns run (pure: config + run result -> families).
#pragma once

#include <string>
#include <vector>

#include "collectors/dns/dns_check.h"
#include "collectors/dns/dns_config.h"
#include "exporter/collector.h"

namespace mailhealth::dns {

inline constexpr char kDnsLookupSuccess[] = "mailhealth_dns_lookup_success";
inline constexpr char kDnsLookupDuration[] =
    "mailhealth_dns_lookup_duration_seconds";
inline constexpr char kDnsLookupStatus[] = "mailhealth_dns_lookup_status";
inline constexpr char kDnsAnswers[] = "mailhealth_dns_answers";
inline constexpr char kDnsMxInfo[] = "mailhealth_dns_mx_info";
inline constexpr char kDnsNullMx[] = "mailhealth_dns_null_mx";
inline constexpr char kDnsMxMatchesExpected[] =
    "mailhealth_dns_mx_matches_expected";
inline constexpr char kDnsMxHostResolves[] = "mailhealth_dns_mx_host_resolves";
inline constexpr char kDnsMxHostAddresses[] =
    "mailhealth_dns_mx_host_addresses";
inline constexpr char kDnsMxHostIsCname[] = "mailhealth_dns_mx_host_is_cname";
inline constexpr char kDnsAddressesMatchExpected[] =
    "mailhealth_dns_addresses_match_expected";
inline constexpr char kDnsResolversAgree[] = "mailhealth_dns_resolvers_agree";

// True when `answer` (an MX reply) is exactly the declared set: the same
// exchanges (case and trailing dot ignored), each with the declared
// preference where one was given. Null MX is declared as "." or "0 .".
bool MxMatchesExpected(const std::vector<MxRecord>& answer,
                       const std::vector<ExpectedMx>& expected);

// True when the resolver answered with exactly one MX record "0 ."
// (RFC 7505); also true for "N ." with another preference, which RFC 7505
// does not allow but which means the same to a sender.
bool IsNullMx(const LookupResult& mx);

// Union of the A and AAAA addresses, sorted, duplicates removed.
std::vector<std::string> SortedAddresses(const HostLookups& h);

Families BuildDnsFamilies(const DnsConfig& config, const DnsRunResult& run);

}  // namespace mailhealth::dns
