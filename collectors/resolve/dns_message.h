// DNS responses as the dns collector sees them: the rcode, the records of
// the asked type, and the status classes of the metrics. Pure functions
// over bytes (tested on constructed packets); no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace mailhealth {

// The `status` label values of mailhealth_dns_lookup_status.
enum class DnsStatus {
  kNoError,
  kNxDomain,
  kServFail,
  kRefused,
  kFormErr,
  kTimeout,
  kOther,
};
inline constexpr std::array<DnsStatus, 7> kAllDnsStatuses = {
    DnsStatus::kNoError, DnsStatus::kNxDomain, DnsStatus::kServFail,
    DnsStatus::kRefused, DnsStatus::kFormErr,  DnsStatus::kTimeout,
    DnsStatus::kOther};
const char* DnsStatusName(DnsStatus s);

// Query types used here (RFC 1035, RFC 3596).
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeTlsa = 52;  // RFC 6698
// "A", "MX", "AAAA", "CNAME", "PTR", "TXT", "OTHER"
const char* QTypeName(uint16_t qtype);

struct MxRecord {
  int preference = 0;
  std::string exchange;  // lower case, no trailing dot; "." for the root
  bool operator==(const MxRecord&) const = default;
};

// A TLSA record (RFC 6698 2.1): certificate usage, selector, matching type
// and the certificate association data (raw bytes).
struct TlsaRecord {
  uint8_t usage = 0;
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::string data;
  bool operator==(const TlsaRecord&) const = default;
};

struct DnsAnswer {
  int rcode = 0;           // header RCODE (0 NOERROR, 3 NXDOMAIN, ...)
  bool truncated = false;  // TC bit (c-ares retries over TCP before this)
  // AD bit (RFC 4035 3.2.3): the resolver validated the answer with
  // DNSSEC. Only meaningful from a validating resolver the path to which is
  // trusted; resolvers set it only when the query had AD or DO set
  // (DnsBatchOptions::request_ad).
  bool authenticated = false;
  // Records of the asked type in the answer section, in packet order.
  std::vector<MxRecord> mx;              // qtype MX
  std::vector<std::string> addresses;    // qtype A/AAAA, canonical text
  std::vector<std::string> cname_chain;  // CNAME targets, in packet order
  std::vector<std::string> names;        // qtype PTR: lower case, no dot
  std::vector<std::string> texts;  // qtype TXT: the strings of each record
                                   // joined, one entry per record
  std::vector<TlsaRecord> tlsa;    // qtype TLSA
  // The smallest TTL (seconds) of the records of the asked type; 0 when
  // there are none (callers caching an answer take their own floor).
  uint32_t min_ttl = 0;
  size_t count() const {
    return mx.size() + addresses.size() + names.size() + texts.size() +
           tlsa.size();
  }
};

// Parses a response to a query of `qtype`. Errors (short packet, bad name
// compression, an RR running past the end) make the status non-OK: such a
// reply is reported as status "other".
Result<DnsAnswer> ParseDnsResponse(const unsigned char* buf, size_t len,
                                   uint16_t qtype);

// RCODE -> status (0 noerror, 1 formerr, 2 servfail, 3 nxdomain,
// 5 refused, anything else other).
DnsStatus StatusFromRcode(int rcode);

// c-ares status of a query that produced no parseable reply -> status.
// ARES_ETIMEOUT and ARES_ECANCELLED (cancelled at the run's deadline) are
// timeout; ARES_ENOTFOUND nxdomain, ARES_ESERVFAIL servfail, ARES_EREFUSED
// refused, ARES_EFORMERR formerr, ARES_ENODATA noerror; the rest
// (ECONNREFUSED from an ICMP port unreachable, EBADRESP, ...) other.
DnsStatus StatusFromAresCode(int ares_status);

// Lower case, without the trailing dot ("MX1.Example.COM." ->
// "mx1.example.com"); the root "." (or "") stays ".".
std::string NormalizeName(std::string_view name);

}  // namespace mailhealth
