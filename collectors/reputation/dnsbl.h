// DNS blocklist queries and answers (RFC 5782), pure: the query name of an
// address in a zone, the reverse (PTR) name, and the classification of one
// answer into the `status` of mailhealth_dnsbl_lookup_status. No I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "collectors/reputation/reputation_config.h"
#include "collectors/resolve/dns_message.h"

namespace mailhealth::reputation {

// The `status` label values, in the order they are exported.
enum class LookupStatus {
  kListed,
  kNotListed,
  kErrorBlockedResolver,  // an error code: the list refuses this resolver
  kErrorRateLimited,      // an error code: too many queries
  kErrorRewritten,        // an answer outside 127.0.0.0/8: the resolver
                          // rewrites NXDOMAIN (ISP "search" pages)
  kTimeout,
  kServFail,
  kRefused,
  kOther,  // FORMERR, a malformed reply, a 127.x answer neither listed nor
           // an error code
};
inline constexpr size_t kLookupStatusCount = 9;
inline constexpr std::array<LookupStatus, kLookupStatusCount>
    kAllLookupStatuses = {LookupStatus::kListed,
                          LookupStatus::kNotListed,
                          LookupStatus::kErrorBlockedResolver,
                          LookupStatus::kErrorRateLimited,
                          LookupStatus::kErrorRewritten,
                          LookupStatus::kTimeout,
                          LookupStatus::kServFail,
                          LookupStatus::kRefused,
                          LookupStatus::kOther};
const char* LookupStatusName(LookupStatus s);

// At most this many distinct return codes are kept per (zone, address),
// so mailhealth_dnsbl_return_code stays bounded.
inline constexpr size_t kMaxReturnCodes = 16;

// "192.0.2.1" in "zen.spamhaus.org" -> "1.2.0.192.zen.spamhaus.org";
// "2001:db8::1" -> 32 nibbles, least significant first, then the zone.
// "" when `address` is not an IP literal.
std::string DnsblQueryName(const std::string& address, const std::string& zone);

// The PTR name: "1.2.0.192.in-addr.arpa", "...8.b.d.0.1.0.0.2.ip6.arpa".
std::string ReverseName(const std::string& address);

struct Classification {
  LookupStatus status = LookupStatus::kOther;
  bool listed = false;
  // The 127.x codes of the answer (every A record, sorted, distinct, at
  // most kMaxReturnCodes); rewritten answers outside 127/8 are not kept.
  std::vector<std::string> codes;
};

// One answer to the A query of DnsblQueryName(). `dns_status` is the reply's
// status (NXDOMAIN, SERVFAIL, a timeout...); `answers` the A records of a
// NOERROR reply. NXDOMAIN and NODATA are "not listed". Every A record
// counts: an answer outside 127.0.0.0/8 makes it error_rewritten; an error
// code makes it error_rate_limited (127.255.255.255) or
// error_blocked_resolver (any other), and never listed, whatever the other
// records say; otherwise one listed code makes it listed, and 127.x codes
// that are neither are "other".
Classification ClassifyAnswer(DnsStatus dns_status,
                              const std::vector<std::string>& answers,
                              const ZoneConfig& zone);

}  // namespace mailhealth::reputation
